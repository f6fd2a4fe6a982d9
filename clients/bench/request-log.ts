/**
 * npm run bench:request-log [-- --json]
 *
 * What the coordinator's request log (services/coordinator/request-log.ts)
 * costs per call as it fills. One process, a real requests file and answer
 * ring in a temporary directory (fsync batch, as the coordinator runs it), the
 * cluster bench's cycle at batch 16: a SwapOut answer (16 slot ids) and a
 * Load-with-release answer (16 pages) per pair, each under its own
 * request_id. Timed in windows of `--window` pairs: below the log's bound
 * (`maxEntries`, 100,000 by default) every answer is kept; past it, one is
 * dropped for each one added, and the requests file is rewritten whenever it
 * has grown to twice its live answers.
 *
 * Figures: µs per pair below the bound and at it (medians of the windows),
 * their ratio `full_vs_below` (1.0: a full log costs what an empty one does),
 * `max_pair_ms`, the slowest pair with the turn before it (where a slice
 * of a rewrite of the file runs: a call arriving then waits for it), and `heap_bytes_per_answer`, the
 * heap the full log holds per answer (with --expose-gc, which the npm script
 * passes): what every garbage collection of the coordinator has to mark.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { positiveInteger } from './option-parsers';
import { createLogger } from '../../services/common/logger';
import { RequestLog, requestDigest } from '../../services/coordinator/request-log';
import { emitReport, median, progress, round } from './report';

const BATCH = 16;

async function main(): Promise<void> {
  const o = new Command('bench:request-log')
    .option('--max-entries <n>', "the log's bound on answers", positiveInteger, 100_000)
    .option('--window <n>', 'pairs per timed window', positiveInteger, 10_000)
    .option('--full-windows <n>', 'windows timed once the log is full', positiveInteger, 8)
    .option('--json', 'print one JSON object')
    .parse()
    .opts<{ maxEntries: number; window: number; fullWindows: number; json?: boolean }>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-request-log-'));
  const file = path.join(dir, 'requests.log');
  const log = new RequestLog({
    file,
    maxEntries: o.maxEntries,
    log: createLogger({ name: 'bench', level: 'error' }),
  });
  const heapNow = (): number => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  const emptyHeap = heapNow();
  let fullHeap = NaN;
  const pages = Array.from({ length: BATCH }, (_, i) => Buffer.alloc(4096, i + 1));
  const sums = new Uint32Array(BATCH);
  const below: number[] = [];
  const full: number[] = [];
  let slowestMs = 0;
  let nextSlot = 1;
  let pair = 0;
  try {
    // Pairs are all SwapOut + Load answers: Load answers leave as the ring wraps, so the log fills at about one
    // answer a pair.
    const windows = Math.ceil((1.2 * o.maxEntries) / o.window) + o.fullWindows;
    for (let w = 0; w < windows; w++) {
      const wasFull = log.stats.entries >= o.maxEntries;
      const start = performance.now();
      for (let i = 0; i < o.window; i++, pair++) {
        const t = performance.now();
        // Each pair in a turn of its own, as calls reach the coordinator: a rewrite of the file goes on between.
        await new Promise<void>((r) => setImmediate(r));
        const slots = Array.from({ length: BATCH }, () => nextSlot++);
        await log.run<{ slots: number[]; tiers: string[] }>(
          {
            method: 'SwapOut',
            owner: 'bench',
            requestId: `s${pair}`,
            digest: requestDigest('SwapOut', ['bench', pages, false]),
          },
          undefined,
          async (answer) => {
            const v = { slots, tiers: slots.map(() => 'TIER_SWAPFILE') };
            answer?.record(v);
            return v;
          },
          (v) => v.slots.length,
        );
        await log.run<{ pages: Buffer[]; counts: number[] }>(
          {
            method: 'Load',
            owner: 'bench',
            requestId: `l${pair}`,
            digest: requestDigest('Load', ['bench', slots, true]),
          },
          undefined,
          async (answer) => {
            await answer?.keepPages(pages, sums);
            const v = { pages, counts: slots.map(() => 0) };
            answer?.record(v);
            return v;
          },
          (v) => v.counts.length,
        );
        slowestMs = Math.max(slowestMs, performance.now() - t);
      }
      const us = ((performance.now() - start) * 1000) / o.window;
      // A window that crossed the bound is neither.
      if (wasFull) full.push(us);
      else if (log.stats.entries < o.maxEntries) below.push(us);
      progress(`window ${w + 1}/${windows}: ${round(us, 1)} µs/pair, ${log.stats.entries} answers`);
    }
    // The heap of the log at rest: a rewrite of the file under way holds its own lists until it ends.
    for (let i = 0; i < 1000 && fs.existsSync(`${file}.tmp`); i++) await new Promise((r) => setTimeout(r, 10));
    fullHeap = heapNow();
  } finally {
    log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const figures = {
    max_entries: o.maxEntries,
    below_bound_us_per_pair: round(median(below), 1),
    full_us_per_pair: round(median(full), 1),
    full_vs_below: round(median(full) / median(below), 3),
    max_pair_ms: round(slowestMs, 1),
    heap_bytes_per_answer: round((fullHeap - emptyHeap) / o.maxEntries),
  };
  emitReport({
    json: o.json === true,
    figures,
    text:
      `request log, SwapOut + Load(release) answers of ${BATCH} slots under their own request_ids:\n` +
      `  below the bound: ${figures.below_bound_us_per_pair} µs/pair\n` +
      `  full (${o.maxEntries} answers): ${figures.full_us_per_pair} µs/pair (${figures.full_vs_below}x)\n` +
      `  slowest pair: ${figures.max_pair_ms} ms\n` +
      `  heap per answer held: ${figures.heap_bytes_per_answer} B\n`,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:request-log: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
