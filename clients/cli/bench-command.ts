/** bench: a short workload (clients/workload) with a live progress bar, ending in figures. */
import { Option, type Command } from 'commander';
import * as cliProgress from 'cli-progress';
import { renderTable } from '../bench/report';
import { ACCESS_PATTERNS, type AccessPatternKind } from '../workload/access-pattern';
import { Workload, type WorkloadReport } from '../workload/workload';
import { type CliContext, UsageError, parseCount, parseDurationMs } from './cli-context';

interface BenchOptions {
  duration: number;
  processes: number;
  pages: number;
  limit: number;
  pattern: AccessPatternKind;
  concurrency: number;
  seed: number;
  forkRate: number;
  exitRate: number;
  owner?: string;
  json?: boolean;
  keep?: boolean;
}

function parseRate(name: string): (raw: string) => number {
  return (raw) => {
    const v = Number(raw);
    if (!/^\s*\d*\.?\d+\s*$/.test(raw) || !(v >= 0 && v <= 1))
      throw new UsageError(`${name} must be between 0 and 1, got "${raw}"`);
    return v;
  };
}

export function benchText(r: WorkloadReport, o: BenchOptions): string {
  const rows = Object.entries(r.latency).map(([op, l]) => [
    op,
    r.operations[op as keyof WorkloadReport['operations']] ?? l.count,
    l.p50Us,
    l.p99Us,
    l.maxUs,
  ]);
  const errors = Object.entries(r.errors)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${o.processes} processes x ${o.pages} pages, limit ${o.limit} ` +
    `resident, ${o.pattern}, ${o.concurrency} in flight, ` +
    `${(r.elapsedMs / 1000).toFixed(1)} s\n\n` +
    renderTable({
      headers: ['figure', 'value'],
      rows: [
        ['pages/s', r.pagesPerSecond],
        ['pages out', r.pagesOut],
        ['pages in', r.pagesIn],
        ['forks / exits', `${r.processes.forks} / ${r.processes.exits}`],
        ['errors', errors || '0'],
        ['corruptions', r.corruptions],
      ],
      align: ['left', 'right'],
    }) +
    '\n' +
    renderTable({ headers: ['op', 'calls', 'p50 us', 'p99 us', 'max us'], rows })
  );
}

export function registerBenchCommand(program: Command, ctx: CliContext): void {
  program
    .command('bench')
    .description(
      'run a short verified workload (simulated processes swapping under a ' +
        'memory limit) and print pages/s and latencies',
    )
    .addOption(
      new Option('-d, --duration <secs>', 'how long (5, 5s, 500ms)')
        .argParser(parseDurationMs('--duration', 1000))
        .default(5000, '5s'),
    )
    .addOption(new Option('--processes <n>', 'simulated processes').argParser(parseCount('--processes', 1)).default(4))
    .addOption(new Option('--pages <n>', 'pages per process').argParser(parseCount('--pages', 1)).default(1024))
    .addOption(
      new Option('--limit <n>', 'resident pages per process (its memory limit)')
        .argParser(parseCount('--limit', 1))
        .default(256),
    )
    .addOption(new Option('--pattern <kind>', 'page access pattern').choices(ACCESS_PATTERNS).default('zipfian'))
    .addOption(
      new Option('--concurrency <n>', 'requests in flight').argParser(parseCount('--concurrency', 1)).default(4),
    )
    .addOption(
      new Option('--seed <n>', 'seed of accesses and page contents').argParser(parseCount('--seed')).default(1),
    )
    .addOption(
      new Option('--fork-rate <p>', 'probability that a step forks').argParser(parseRate('--fork-rate')).default(0.01),
    )
    .addOption(
      new Option('--exit-rate <p>', 'probability that a step exits').argParser(parseRate('--exit-rate')).default(0.01),
    )
    .option('--owner <prefix>', 'owner name prefix (default bench-<pid>)')
    .option('--keep', 'leave the slots in place (default: free everything at the end)')
    .option('--json', 'print exactly one JSON object on stdout')
    .action(async (o: BenchOptions) => {
      if (o.limit > o.pages) throw new UsageError(`--limit ${o.limit} is more than --pages ${o.pages}`);
      const showBar = ctx.io.stderr.isTTY === true;
      const bar = showBar
        ? new cliProgress.SingleBar(
            {
              format: 'bench [{bar}] {percentage}% | {pagesOut} out {pagesIn} in | {errors} errors',
              stream: ctx.io.stderr as NodeJS.WriteStream,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      bar?.start(100, 0, { pagesOut: 0, pagesIn: 0, errors: 0 });
      const workload = new Workload(ctx.sdk(), {
        processes: o.processes,
        pagesPerProcess: o.pages,
        memoryLimitPages: o.limit,
        pattern: o.pattern,
        durationMs: o.duration,
        concurrency: o.concurrency,
        seed: o.seed,
        forkRate: o.forkRate,
        exitRate: o.exitRate,
        ownerPrefix: o.owner ?? `bench-${process.pid}`,
        onProgress: (p) =>
          bar?.update(Math.round(p.fraction * 100), { pagesOut: p.pagesOut, pagesIn: p.pagesIn, errors: p.errors }),
      });
      const controller = new AbortController();
      const onSig = () => controller.abort();
      process.once('SIGINT', onSig);
      let report: WorkloadReport;
      try {
        report = await workload.run(controller.signal);
      } finally {
        process.removeListener('SIGINT', onSig);
        bar?.stop();
      }
      const drained = o.keep ? undefined : await workload.drain();
      if (o.json) {
        ctx.out(
          JSON.stringify({
            options: {
              durationMs: o.duration,
              processes: o.processes,
              pages: o.pages,
              limit: o.limit,
              pattern: o.pattern,
              concurrency: o.concurrency,
              seed: o.seed,
              forkRate: o.forkRate,
              exitRate: o.exitRate,
            },
            ...report,
            drain: drained ?? null,
          }),
        );
      } else {
        ctx.out(benchText(report, o));
        if (drained && drained.remaining > 0) ctx.err(`vswapctl: ${drained.remaining} references could not be freed`);
      }
      if (report.corruptions > 0) {
        ctx.err(`vswapctl: DATA_CORRUPTION: ${report.corruptions} pages came back different from what was written`);
        ctx.exitCode = 1;
      }
    });
}
