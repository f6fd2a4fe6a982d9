/** The soak run's outputs: the human table and the one JSON object of --json. */
import type { FaultRunReport } from './harness';

export function toJson(r: FaultRunReport): Record<string, unknown> {
  return {
    seed: r.seed,
    duration_ms: r.durationMs,
    nemeses: r.nemeses,
    operations: r.operations,
    operations_by_kind: r.operationsByKind,
    faults: r.faults,
    faults_total: r.faultsTotal,
    pages_out: r.pagesOut,
    pages_in: r.pagesIn,
    pages_verified: r.pagesVerified,
    pages_lost: r.pagesLost,
    pages_lost_by_store: r.lostByStore,
    corruptions: r.corruptions,
    missing: r.missing,
    count_mismatches: r.countMismatches,
    leaks: r.leaks,
    leak_detail: r.leakDetail,
    orphaned_slots: r.orphanedSlots,
    ambiguous_requests: r.ambiguous,
    stale_reads: r.staleReads,
    foreign_reads: r.foreignReads,
    reads_checked: r.readsChecked,
    unexplained_losses: r.unexplainedLosses,
    hung_requests: r.hungRequests,
    unknown_errors: r.unknownErrors,
    retries: r.retries,
    server_dedup: r.serverDedup,
    violations: r.violations,
    workload_errors: r.workloadErrors,
    recovery_ms: r.recoveries.map((x) => x.ms),
    recoveries: r.recoveries.map((x) => ({ cause: x.cause, ms: x.ms, start_ms: x.startMs })),
    failures: r.failures,
    passed: r.passed,
  };
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export function toTable(r: FaultRunReport): string {
  const rows: [string, string][] = [
    ['seed', String(r.seed)],
    ['duration', `${(r.durationMs / 1000).toFixed(0)} s`],
    [
      'operations run',
      `${r.operations} (${Object.entries(r.operationsByKind)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    ],
    ['pages out / in', `${r.pagesOut} / ${r.pagesIn}`],
    ['faults injected', String(r.faultsTotal)],
    ...Object.entries(r.faults)
      .sort()
      .map(([k, v]): [string, string] => [`  ${k}`, String(v)]),
    ['pages verified', String(r.pagesVerified)],
    ['pages reported lost', `${r.pagesLost} still held by the workload at the end (DATA_LOSS on read-back)`],
    // Counted by the coordinator's reconciles over the whole run, freed pages included.
    [
      'pages marked lost, by store',
      Object.entries(r.lostByStore)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
    ],
    ['corruptions (must be 0)', String(r.corruptions)],
    ['missing (must be 0)', String(r.missing)],
    ['count mismatches (must be 0)', String(r.countMismatches)],
    ['leaks (must be 0)', String(r.leaks)],
    ['orphaned slots (lost replies)', String(r.orphanedSlots)],
    ['ambiguous requests', JSON.stringify(r.ambiguous)],
    ['stale reads (must be 0)', `${r.staleReads} (foreign ${r.foreignReads}) of ${r.readsChecked} reads checked`],
    ['unexplained losses (must be 0)', String(r.unexplainedLosses)],
    ['hung requests (must be 0)', String(r.hungRequests)],
    ['UNKNOWN from the cluster (must be 0)', String(r.unknownErrors)],
    ['retries (same request_id)', `${JSON.stringify(r.retries)} (coordinator dedup: ${r.serverDedup})`],
    ['workload errors', JSON.stringify(r.workloadErrors)],
    [
      'coordinator recoveries',
      r.recoveries.length === 0 ? 'none' : r.recoveries.map((x) => `${x.ms} ms (${x.cause})`).join(', '),
    ],
    ['result', r.passed ? 'PASS' : `FAIL: ${r.failures.join('; ')}`],
  ];
  return table(rows);
}
