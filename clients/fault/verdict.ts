/**
 * The rules a fault run must keep, as one pure function from what the run
 * counted to the list of broken rules (empty = passed): the harness and the
 * checker's unit tests share it, so a rule cannot be dropped in one place
 * and still pass in the other.
 */

export interface RunFigures {
  corruptions: number;
  /** Acknowledged pages the cluster no longer knew (lost acks). */
  missing: number;
  countMismatches: number;
  /** Slots, backend pages and zswap entries left after everything was freed. */
  leaks: number;
  leakDetail?: unknown;
  /** Pages lost, by store, on stores that were not allowed to lose (durable, not rolled back). */
  durableLoss: Record<string, number>;
  unreadable: Record<string, number>;
  healthy: boolean;
  staleReads: number;
  foreignReads: number;
  unexplainedLosses: number;
  hungRequests: number;
  /** Calls whose outcome the workload could not learn, by method. */
  ambiguous: Record<string, number>;
  /** UNKNOWN answers from the cluster (an error nobody mapped). */
  unknownErrors: number;
  orphanedSlots: number;
  /**
   * The coordinator deduplicates retries by request_id, across restarts too,
   * so the client retried every call whose outcome it did not know: nothing
   * may stay ambiguous and no slot may be orphaned. Without it a retry could
   * apply twice, so some mutations are not retried, and ambiguity and
   * orphaned slots (lost replies) are reported, not failed.
   */
  retriesSettleAll: boolean;
  /** Rules the nemeses saw broken as they ran, one line each. */
  violations?: readonly string[];
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export function brokenRules(f: RunFigures): string[] {
  const out: string[] = [];
  if (f.corruptions > 0) out.push(`${f.corruptions} corruption(s): pages read back as other bytes`);
  if (f.missing > 0) out.push(`${f.missing} acknowledged page(s) unknown to the cluster`);
  if (f.countMismatches > 0) out.push(`${f.countMismatches} swap count(s) differ from the references held`);
  if (f.leaks > 0) out.push(`${f.leaks} leak(s) after everything was freed: ${JSON.stringify(f.leakDetail ?? {})}`);
  if (sum(f.durableLoss) > 0) out.push(`store(s) that may not lose data lost pages: ${JSON.stringify(f.durableLoss)}`);
  const unreadable = sum(f.unreadable);
  if (unreadable > 0) out.push(`${unreadable} page(s) unreadable after the heal: ${JSON.stringify(f.unreadable)}`);
  if (!f.healthy) out.push('the cluster did not come back healthy after the heal');
  if (f.staleReads > 0)
    out.push(`${f.staleReads} stale read(s): a Load returned a value older than the latest acknowledged write`);
  if (f.foreignReads > 0)
    out.push(`${f.foreignReads} foreign read(s): a Load returned a value never written to its slot`);
  if (f.unexplainedLosses > 0) out.push(`${f.unexplainedLosses} DATA_LOSS page(s) that no store loss explains`);
  if (f.hungRequests > 0) out.push(`${f.hungRequests} request(s) not answered within their bound`);
  if (f.unknownErrors > 0)
    out.push(`${f.unknownErrors} UNKNOWN error(s) from the cluster (a fault not mapped to its status)`);
  for (const v of f.violations ?? []) out.push(v);
  if (f.retriesSettleAll) {
    const ambiguous = sum(f.ambiguous);
    if (ambiguous > 0)
      out.push(`${ambiguous} request(s) whose outcome stayed unknown after retries: ${JSON.stringify(f.ambiguous)}`);
    if (f.orphanedSlots > 0)
      out.push(`${f.orphanedSlots} orphaned slot(s): allocated by calls whose result never reached the client`);
  }
  return out;
}
