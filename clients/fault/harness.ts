/**
 * A fault run: a cluster of real processes, the workload driver swapping
 * through it, nemeses applied from a seed, then the checker. Used by the CI
 * suite (test/fault) and the soak CLI (main.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Workload, type WorkloadReport } from '../workload/workload';
import type { WorkloadOptions } from '../workload/options';
import { Rng, mix32 } from '../workload/prng';
import { type CheckReport, checkRun } from './checker';
import { FaultCluster, type Recovery, sleep } from './fault-cluster';
import { History } from './history';
import { type NemesisKind, NEMESIS_KINDS, runSchedule } from './nemesis';
import { RecordingClient } from './recording-client';

export interface FaultRunOptions {
  seed: number;
  /** How long the workload runs under faults, in ms; default 10000. */
  durationMs?: number;
  /** Default every kind. */
  nemeses?: readonly NemesisKind[];
  /** Quiet time between faults; default 300..1500 ms. */
  minGapMs?: number;
  maxGapMs?: number;
  /** Where the cluster keeps its files; default a fresh temporary directory (removed after a passing run). */
  dataDir?: string;
  /** Workload overrides (the seed is always the run's). */
  workload?: Omit<WorkloadOptions, 'seed' | 'durationMs'>;
  /**
   * Keep the workload running past the duration until every nemesis kind was
   * injected once (a short CI run still covers all it was given); default true.
   */
  coverEveryKind?: boolean;
  /** Called with every child process as it is spawned (cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
  /** Lines of progress (faults as they happen), e.g. to stderr. */
  onLine?: (line: string) => void;
}

export interface FaultRunReport {
  seed: number;
  durationMs: number;
  nemeses: NemesisKind[];
  /** Client operations run (workload calls plus the checker's). */
  operations: number;
  operationsByKind: Record<string, number>;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  faultsTotal: number;
  pagesOut: number;
  pagesIn: number;
  pagesVerified: number;
  /** DATA_LOSS pages: seen by the workload while running plus at the final read-back. */
  pagesLost: number;
  /** Pages each store lost, as the coordinator reported on reconcile. */
  lostByStore: Record<string, number>;
  corruptions: number;
  missing: number;
  countMismatches: number;
  leaks: number;
  leakDetail: CheckReport['leaks'];
  orphanedSlots: number;
  ambiguous: Record<string, number>;
  workloadErrors: Record<string, number>;
  recoveries: Recovery[];
  check: CheckReport;
  /** Violations of the rules; empty when the run passed. */
  failures: string[];
  passed: boolean;
  /** The run's history (faults, checks, the last operations), for failure messages. */
  history: string;
  dataDir: string;
}

/** Options the harness gives the workload: small enough for CI, busy enough to swap through every tier. */
export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, 'seed' | 'durationMs'> = {
  processes: 4,
  maxProcesses: 8,
  pagesPerProcess: 512,
  memoryLimitPages: 128,
  accessesPerStep: 32,
  batchPages: 32,
  forkRate: 0.03,
  exitRate: 0.015,
  concurrency: 4,
};

export async function runFaults(options: FaultRunOptions): Promise<FaultRunReport> {
  const seed = options.seed >>> 0;
  const durationMs = options.durationMs ?? 10_000;
  const nemeses = [...(options.nemeses ?? NEMESIS_KINDS)];
  const history = new History();
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `vswap-fault-${seed}-`));
  const line = (kind: 'fault' | 'info', text: string): void => {
    history.add(kind, text);
    options.onLine?.(text);
  };
  line('info', `seed ${seed}, ${durationMs} ms, nemeses ${nemeses.join(',')}, data in ${dataDir}`);
  const cluster = await FaultCluster.start({ dataDir, history, onSpawn: options.onSpawn });
  // Lines the nemeses add go to onLine too.
  const origFault = history.fault.bind(history);
  history.fault = (text: string) => {
    origFault(text);
    options.onLine?.(text);
  };
  const client = new RecordingClient({ address: cluster.address, deadlineMs: 5000, readRetries: 5 }, history);
  let passed = false;
  try {
    // The run ends by the signal below; the workload's own duration is only a cap.
    const workload = new Workload(client, { ...DEFAULT_WORKLOAD, ownerPrefix: `f${seed}`, ...options.workload, seed, durationMs: durationMs * 10 + 120_000 });
    const counts: Record<string, number> = {};
    const stopFaults = new AbortController();
    const stopWorkload = new AbortController();
    const faults = runSchedule({ cluster, history, rng: new Rng(mix32(seed, 0x6e656d)), counts }, { kinds: nemeses, minGapMs: options.minGapMs, maxGapMs: options.maxGapMs }, stopFaults.signal);
    const started = Date.now();
    const cover = options.coverEveryKind ?? true;
    const ender = setInterval(() => {
      if (Date.now() - started >= durationMs && (!cover || nemeses.every((k) => (counts[k] ?? 0) > 0))) {
        stopFaults.abort();
        stopWorkload.abort();
      }
    }, 50);
    let report: WorkloadReport;
    try {
      report = await workload.run(stopWorkload.signal);
    } finally {
      clearInterval(ender);
      stopFaults.abort();
      // A nemesis in progress finishes (and heals) before the check.
      await faults.catch((err: unknown) => line('fault', `nemesis schedule failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    line('info', `workload done: ${report.steps} steps, ${report.pagesOut} pages out, ${report.pagesIn} in, errors ${JSON.stringify(report.errors)}`);
    await cluster.healAll();
    const healthy = await cluster.waitHealthy();
    line('info', healthy ? 'healed: every backend reachable and active' : 'healed, but not every backend is reachable and active after 30 s');
    // Writes the coordinator retries in the background settle first.
    await sleep(300);
    const check = await checkRun({ cluster, workload, client, history, ambiguousSwapOutPages: report.ambiguousSwapOutPages });
    const failures: string[] = [];
    const corruptions = report.corruptions + check.corruptions;
    const missing = check.missing + report.missingPages;
    if (corruptions > 0) failures.push(`${corruptions} corruption(s): pages read back as other bytes`);
    if (missing > 0) failures.push(`${missing} acknowledged page(s) unknown to the cluster`);
    if (check.countMismatches > 0) failures.push(`${check.countMismatches} swap count(s) differ from the references held`);
    if (check.leaks.total > 0) failures.push(`${check.leaks.total} leak(s) after everything was freed: ${JSON.stringify(check.leaks)}`);
    const durableLoss = Object.entries(check.lostByStore).filter(([store, n]) => store !== 'zswap' && n > 0);
    if (durableLoss.length > 0) failures.push(`durable store(s) lost pages: ${JSON.stringify(Object.fromEntries(durableLoss))}`);
    const unreadable = Object.values(check.unreadable).reduce((a, b) => a + b, 0);
    if (unreadable > 0) failures.push(`${unreadable} page(s) unreadable after the heal: ${JSON.stringify(check.unreadable)}`);
    if (!healthy) failures.push('the cluster did not come back healthy after the heal');
    passed = failures.length === 0;
    for (const f of failures) history.add('check', `FAIL ${f}`);
    const operationsByKind: Record<string, number> = { ...report.operations };
    const operations = Object.values(operationsByKind).reduce((a, b) => a + b, 0);
    const faultsTotal = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      seed,
      durationMs,
      nemeses,
      operations,
      operationsByKind,
      faults: counts,
      faultsTotal,
      pagesOut: report.pagesOut,
      pagesIn: report.pagesIn,
      pagesVerified: check.pagesVerified,
      pagesLost: report.lostPages + check.pagesLostAtVerify,
      lostByStore: check.lostByStore,
      corruptions,
      missing,
      countMismatches: check.countMismatches,
      leaks: check.leaks.total,
      leakDetail: check.leaks,
      orphanedSlots: check.orphanedSlots,
      ambiguous: { ...client.ambiguous },
      workloadErrors: report.errors,
      recoveries: cluster.recoveries,
      check,
      failures,
      passed,
      history: history.toString(),
      dataDir,
    };
  } finally {
    client.close();
    await cluster.stop();
    if (ownDir && passed) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
