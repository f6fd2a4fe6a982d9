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
import { type DedupLevel, RecordingClient, probeDedup } from './recording-client';
import { brokenRules } from './verdict';

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
  /** What the coordinator's request_id dedup covers; default: probed at start (one coordinator restart). */
  serverDedup?: DedupLevel;
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
  /** Mutations whose outcome stayed unknown, by method. */
  ambiguous: Record<string, number>;
  /** Loads that returned a value older than the latest acknowledged write of their slot. */
  staleReads: number;
  /** Loads that returned a value never written to their slot. */
  foreignReads: number;
  /** Loads checked against the slot's register history. */
  readsChecked: number;
  /** DATA_LOSS pages no volatile store's loss explains. */
  unexplainedLosses: number;
  /** Requests not answered within their bound. */
  hungRequests: number;
  /** UNKNOWN answers from the coordinator (the workload's and the harness's). */
  unknownErrors: number;
  serverUnknown: Record<string, number>;
  /** Mutations sent again with the same request_id, by method. */
  retries: Record<string, number>;
  /** What the coordinator's request_id dedup covered (which mutations were retried). */
  serverDedup: DedupLevel;
  /**
   * Rules the nemeses saw broken while they ran (a backend left draining, a coordinator that died of a full disk, ...).
   */
  violations: string[];
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
  // A backend restart must beat the coordinator's Info poll: poll at the production default (500 ms) then, else fast.
  const pollMs = nemeses.includes('fast-restart-backend') || nemeses.includes('equal-priority-reconcile') ? 500 : 200;
  const cluster = await FaultCluster.start({ dataDir, history, onSpawn: options.onSpawn, pollMs });
  const stormOwner = `f${seed}-storm`;
  // Lines the nemeses add go to onLine too.
  const origFault = history.fault.bind(history);
  history.fault = (text: string) => {
    origFault(text);
    options.onLine?.(text);
  };
  let passed = false;
  // Retrying a mutation whose outcome is unknown is only safe when the coordinator deduplicates by request_id.
  const serverDedup =
    options.serverDedup ??
    (await probeDedup(
      cluster.admin,
      `f${seed}-probe`,
      async () => {
        await cluster.restartCoordinator('dedup-probe');
      },
      cluster.access,
    ));
  cluster.recoveries.length = 0; // the probe's restart is not a fault
  line(
    'info',
    {
      none:
        'the coordinator does not deduplicate by request_id: mutations are not ' +
        'retried; ambiguity and orphaned slots are reported, not failed',
      'in-memory':
        'the coordinator deduplicates by request_id until it restarts: ' +
        'mutations are retried after deadlines, not after a lost connection; ' +
        'ambiguity and orphaned slots are reported, not failed',
      durable:
        'the coordinator deduplicates by request_id across restarts: every mutation with an unknown outcome is retried',
    }[serverDedup],
  );
  const client = new RecordingClient({
    address: cluster.address,
    deadlineMs: 5000,
    readRetries: 5,
    history,
    dedup: serverDedup,
    access: cluster.access,
  });
  try {
    // The run ends by the signal below; the workload's own duration is only a cap.
    const workload = new Workload(client, {
      ...DEFAULT_WORKLOAD,
      ownerPrefix: `f${seed}`,
      ...options.workload,
      seed,
      durationMs: durationMs * 10 + 120_000,
    });
    const counts: Record<string, number> = {};
    const stopFaults = new AbortController();
    const stopWorkload = new AbortController();
    const faults = runSchedule(
      { cluster, history, rng: new Rng(mix32(seed, 0x6e656d)), counts, client, dedup: serverDedup, stormOwner },
      { kinds: nemeses, minGapMs: options.minGapMs, maxGapMs: options.maxGapMs },
      stopFaults.signal,
    );
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
      await faults.catch((err: unknown) =>
        line('fault', `nemesis schedule failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    line(
      'info',
      `workload done: ${report.steps} steps, ${report.pagesOut} pages out, ` +
        `${report.pagesIn} in, errors ${JSON.stringify(report.errors)}`,
    );
    await cluster.healAll();
    const healthy = await cluster.waitHealthy();
    line(
      'info',
      healthy
        ? 'healed: every backend reachable and active'
        : `healed, but not every backend is reachable and active after 30 s (last seen: ${cluster.lastHealth || 'no answer'})`,
    );
    // Writes the coordinator retries in the background settle first.
    await sleep(300);
    const check = await checkRun({
      cluster,
      workload,
      client,
      history,
      ambiguousSwapOutPages: report.ambiguousSwapOutPages,
      volatileStores: cluster.volatileStores,
      extraOwners: [stormOwner],
    });
    client.hangs.sweep();
    cluster.hangs.sweep();
    const corruptions = report.corruptions + check.corruptions;
    const missing = check.missing + report.missingPages;
    const durableLoss = Object.fromEntries(
      Object.entries(check.lostByStore).filter(([store, n]) => !cluster.volatileStores.has(store) && n > 0),
    );
    const hung = [...client.hangs.problems, ...cluster.hangs.problems];
    for (const h of hung) history.add('check', h);
    const unknownErrors = Object.values(client.serverUnknown).reduce((a, b) => a + b, 0);
    const failures = brokenRules({
      corruptions,
      missing,
      countMismatches: check.countMismatches,
      leaks: check.leaks.total,
      leakDetail: check.leaks,
      durableLoss,
      unreadable: check.unreadable,
      healthy,
      staleReads: client.register.staleReads,
      foreignReads: client.register.foreignReads,
      unexplainedLosses: check.unexplainedLosses,
      hungRequests: client.hangs.hung + cluster.hangs.hung,
      ambiguous: client.ambiguous,
      unknownErrors,
      orphanedSlots: check.orphanedSlots,
      retriesSettleAll: serverDedup === 'durable',
      violations: cluster.violations,
    });
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
      staleReads: client.register.staleReads,
      foreignReads: client.register.foreignReads,
      readsChecked: client.register.readsChecked,
      unexplainedLosses: check.unexplainedLosses,
      hungRequests: client.hangs.hung + cluster.hangs.hung,
      unknownErrors,
      serverUnknown: { ...client.serverUnknown },
      retries: { ...client.retries },
      serverDedup,
      violations: [...cluster.violations],
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
