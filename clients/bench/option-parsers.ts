/** Parsers for the benchmarks' commander options: a bad value stops the run with commander's message naming the option. */
import { InvalidArgumentError } from 'commander';
import { MAX_HEAP_GROWTH_PERCENT, checkHeapGrowth } from '../../services/common/heap-growth';

/** A whole number of at least 1 (counts: slots, rounds, windows). */
export function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A V8 heap growth in percent, as a service's --heap-growth-percent takes it (heap-growth.ts). */
export function heapGrowthPercent(v: string): number {
  const n = Number(v);
  // Number('') is 0 (V8's own heuristic): an empty value must not pass for one.
  if (v.trim() === '' || Number.isNaN(n))
    throw new InvalidArgumentError(`not a number: heap growth is an integer from 0 to ${MAX_HEAP_GROWTH_PERCENT}`);
  try {
    checkHeapGrowth(n);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return n;
}
