/**
 * How far V8 lets the old generation grow past what a full GC left live,
 * for every vswap service (the `heapGrowthPercent` option).
 *
 * Why a service sets it: a vswap service keeps a small heap (the slot table
 * and page pools are typed arrays and buffers, outside it) while HTTP/2 and
 * grpc-js allocate a short-lived buffer for every socket read and message.
 * V8 sizes the old generation's limit from the live heap alone (about 2x for
 * 15 MB), and its trace showed marking start right after each collection,
 * with 14 of 30 MB used: the 16 MB left is no more than the young
 * generation once the load has grown it. So under load each service ran a
 * mark-compact every 100-250 ms. Measured at batch 16 on the coordinator,
 * zswap and a bare forwarder, 30-45% of each process's CPU went to marking
 * (the main thread and V8's helper threads), and the functions the frequent
 * collections flushed and deoptimized were compiled again and again. A
 * growth of 300% (limit 4x the live heap) brought the coordinator's
 * mark-compacts down from 21-65 to 4-11 in 4-8 s of that load, and its CPU
 * per page by about 30% (the README's Benchmarks section, *Heap growth*).
 *
 * The cost is memory: between full GCs the heap may hold up to that much
 * garbage on top of what is live. 0 leaves V8's own heuristic.
 */
import * as v8 from 'node:v8';
import { int, type OptionSpec } from './config';

export const DEFAULT_HEAP_GROWTH_PERCENT = 300;
/** The most the option takes: 11x the live heap between full GCs. */
export const MAX_HEAP_GROWTH_PERCENT = 1000;

/** The option every service declares (shared: VSWAP_HEAP_GROWTH_PERCENT is its fallback). */
export function heapGrowthOption(): OptionSpec<number> {
  return int(
    'how far the V8 heap may grow past the live heap before a full GC, in percent ' +
      '(0: V8 decides; README, Benchmarks)',
    DEFAULT_HEAP_GROWTH_PERCENT,
    { min: 0, max: MAX_HEAP_GROWTH_PERCENT },
  );
}

/** Throws RangeError unless `percent` is a growth applyHeapGrowth takes (an integer from 0 to the maximum). */
export function checkHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT)
    throw new RangeError(`heap growth ${percent}% is not an integer from 0 to ${MAX_HEAP_GROWTH_PERCENT}`);
}

/**
 * Applies the growth to this process's V8 heap; 0 changes nothing. V8 reads
 * the flag whenever it recomputes the heap's limits (after each GC), so it
 * takes effect from the next collection on.
 */
export function applyHeapGrowth(percent: number): void {
  checkHeapGrowth(percent);
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
