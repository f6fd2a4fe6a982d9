/**
 * npm run test:fault -- [--duration 60] [--seed N] [--nemeses all|kill,net,...] [--json]
 *
 * A soak run of the fault harness: a cluster of real processes under the
 * workload driver and the nemeses, then the checker. Prints a table (or with
 * --json exactly one JSON object on stdout; progress goes to stderr), and the
 * history on failure. Exit code 1 when a rule was broken (corruptions, leaks,
 * ...), 2 on a usage error.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ChildRegistry } from '../cluster/child-registry';
import { runFaults } from './harness';
import { NEMESIS_GROUPS, NEMESIS_KINDS, parseNemeses } from './nemesis';
import { toJson, toTable } from './report';

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function seedValue(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError('must be an integer from 0 to 4294967295');
  return n;
}

async function main(): Promise<number> {
  const program = new Command('test:fault')
    .description('fault-injection soak run against a local vswap cluster of real processes')
    .option('--duration <seconds>', 'how long the workload runs under faults', positiveNumber, 60)
    .option('--seed <n>', 'seed of the workload and the nemeses (default: random, printed)', seedValue)
    .option(
      '--nemeses <list>',
      `comma-separated kinds or groups: ${[...Object.keys(NEMESIS_GROUPS), ...NEMESIS_KINDS].join(', ')}`,
      'all',
    )
    .option('--json', 'print exactly one JSON object on stdout', false)
    .option('--keep', 'keep the data directory even when the run passes', false)
    .option('--quiet', 'no progress lines on stderr', false);
  program.parse();
  const o = program.opts<{
    duration: number;
    seed?: number;
    nemeses: string;
    json: boolean;
    keep: boolean;
    quiet: boolean;
  }>();
  let kinds;
  try {
    kinds = parseNemeses(o.nemeses);
  } catch (err) {
    process.stderr.write(`test:fault: --nemeses: ${(err as Error).message}\n`);
    return 2;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 0x100000000);
  const children = new ChildRegistry();
  const onSignal = (): void => {
    children.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const report = await runFaults({
    seed,
    durationMs: Math.round(o.duration * 1000),
    nemeses: kinds,
    onSpawn: (c) => children.track(c),
    onLine: o.quiet ? undefined : (l) => process.stderr.write(`[fault seed=${seed}] ${l}\n`),
    ...(o.keep ? { dataDir: path.join(os.tmpdir(), `vswap-fault-${seed}-${Date.now()}`) } : {}),
  });
  await children.stopAll();
  if (!report.passed)
    process.stderr.write(`\nseed ${seed} FAILED; history:\n${report.history}\n\ndata kept in ${report.dataDir}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(toJson(report))}\n`);
  else process.stdout.write(`${toTable(report)}\n`);
  return report.corruptions > 0 || report.leaks > 0 || !report.passed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test:fault: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
