/**
 * The checker: after the nemeses are healed and every process is up, reads
 * back every page the workload holds a reference to, compares swap counts
 * with the references the workload holds, then has the workload free
 * everything and checks that nothing is left behind anywhere.
 *
 * Rules (each counted; verdict.ts says which must be 0):
 * - a page acknowledged on a durable store reads back exactly, and as the
 *   latest value acknowledged for its slot (the register check);
 * - a page reads back as DATA_LOSS only when a store allowed to lose data
 *   (zswap, a Redis restarted without persistence) reported losing pages:
 *   every other DATA_LOSS is unexplained;
 * - nothing reads back as other bytes (corruptions);
 * - no acknowledged slot is unknown to the cluster (missing);
 * - swap counts equal the workload's references (count mismatches);
 * - after drain(): no live slot, no backend page, no zswap entry (leaks).
 */
import { status as Status } from '@grpc/grpc-js';
import { pageChecksum } from '../../services/common/checksum';
import { MAX_BATCH } from '../../services/common/limits';
import { readJournal } from '../../services/coordinator/journal-files';
import { RecordType } from '../../services/coordinator/journal-records';
import { VswapClientError } from '../sdk/errors';
import type { Workload } from '../workload/workload';
import { type FaultCluster, sleep } from './fault-cluster';
import type { History } from './history';
import type { RecordingClient } from './recording-client';
import { slotKey } from './register-check';

export interface LeakReport {
  /** Live slots after everything was freed (Stats used_slots). */
  usedSlots: number;
  /** used_pages per backend after everything was freed. */
  backendPages: Record<string, number>;
  /** zswap's stored_pages after everything was freed. */
  zswapStoredPages: number;
  /** Slots found alive after drain that no ambiguous swap-out explains. */
  unexplainedSlots: number;
  total: number;
}

export interface CheckReport {
  /** Pages read back and found exactly as written. */
  pagesVerified: number;
  /** Pages read back as DATA_LOSS at the end. */
  pagesLostAtVerify: number;
  corruptions: number;
  /** Acknowledged slots the cluster answered NOT_FOUND / PERMISSION_DENIED / FAILED_PRECONDITION for. */
  missing: number;
  /** Pages that could not be read at all after the heal (other codes), by code. */
  unreadable: Record<string, number>;
  /** Slots whose swap count differs from the references the workload holds. */
  countMismatches: number;
  /** Slots the workload could not account for (ambiguous failures) and settled in drain. */
  uncertainSlots: number;
  /** Slots found alive after drain, left by swap-outs whose reply was lost; freed by the checker. */
  orphanedSlots: number;
  leaks: LeakReport;
  /** Pages each backend lost, as the coordinator's reconcile reported it. */
  lostByStore: Record<string, number>;
  /** DATA_LOSS pages (the workload's and the read-back's) that no volatile store's loss explains. */
  unexplainedLosses: number;
  /** Up to 50 lines describing violations. */
  problems: string[];
}

export interface CheckerOptions {
  cluster: FaultCluster;
  workload: Workload;
  client: RecordingClient;
  history: History;
  /** Swap-out pages whose outcome the workload could not know (they may leave orphaned slots). */
  ambiguousSwapOutPages: number;
  /** Stores allowed to lose pages in this run (zswap; remote0 after a Redis restart without persistence). */
  volatileStores: ReadonlySet<string>;
  /** Owners besides the workload's whose slots must all be gone after the drain (e.g. the deadline storm's). */
  extraOwners?: readonly string[];
}

export async function checkRun(o: CheckerOptions): Promise<CheckReport> {
  const { cluster, workload, client, history } = o;
  const admin = cluster.admin;
  const r: CheckReport = {
    pagesVerified: 0,
    pagesLostAtVerify: 0,
    corruptions: 0,
    missing: 0,
    unreadable: {},
    countMismatches: 0,
    uncertainSlots: workload.uncertainSlots().length,
    orphanedSlots: 0,
    leaks: { usedSlots: 0, backendPages: {}, zswapStoredPages: 0, unexplainedSlots: 0, total: 0 },
    lostByStore: {},
    unexplainedLosses: 0,
    problems: [],
  };
  const problem = (text: string): void => {
    if (r.problems.length < 50) r.problems.push(text);
    history.add('check', text);
  };
  const uncertain = new Set(workload.uncertainSlots().map((u) => `${u.owner}\0${u.slot}`));

  // 1. Read back every page the workload holds, and check swap counts.
  for (const owner of workload.owners()) {
    const refs = workload.liveReferences(owner);
    const slots = [...refs.keys()].filter((s) => !uncertain.has(`${owner}\0${s}`));
    for (let i = 0; i < slots.length; i += MAX_BATCH) {
      const chunk = slots.slice(i, i + MAX_BATCH);
      await verifyChunk(owner, chunk);
      await checkCounts(owner, chunk, refs);
    }
  }

  async function verifyChunk(owner: string, chunk: number[]): Promise<void> {
    let pages: Buffer[] | undefined;
    let error: VswapClientError | undefined;
    let invoke = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      invoke = client.register.readStarted();
      try {
        pages = await admin.load(owner, chunk);
        error = undefined;
        break;
      } catch (err) {
        error = VswapClientError.from(err);
        client.register.readAbandoned(invoke);
        if (error.code !== Status.UNAVAILABLE && error.code !== Status.DEADLINE_EXCEEDED) break;
        await sleep(250);
      }
    }
    if (pages) {
      chunk.forEach((slot, k) => {
        const expected = client.expected(owner, slot);
        const actual = pageChecksum(pages[k]!);
        client.register.readEnded(slotKey(owner, slot), actual, invoke, 'final read-back');
        if (expected !== undefined && actual === expected) r.pagesVerified++;
        else {
          r.corruptions++;
          problem(`CORRUPTION ${owner} slot ${slot}: expected crc ${expected ?? '(never stored)'}, read ${actual}`);
        }
      });
      return;
    }
    if (!error) return;
    if (chunk.length > 1 && error.code !== Status.UNAVAILABLE && error.code !== Status.DEADLINE_EXCEEDED) {
      // One slot decides a batch's code: split to find which.
      const half = chunk.length >> 1;
      await verifyChunk(owner, chunk.slice(0, half));
      await verifyChunk(owner, chunk.slice(half));
      return;
    }
    if (error.code === Status.DATA_LOSS) {
      r.pagesLostAtVerify += chunk.length;
      if (chunk.length === 1)
        client.losses.seen(slotKey(owner, chunk[0]!), client.expected(owner, chunk[0]!), error.message);
      return;
    }
    if (
      error.code === Status.NOT_FOUND ||
      error.code === Status.PERMISSION_DENIED ||
      error.code === Status.FAILED_PRECONDITION
    ) {
      r.missing += chunk.length;
      problem(`MISSING ${owner} slot ${chunk.join(',')}: ${error.codeName} ${error.message}`);
      return;
    }
    r.unreadable[error.codeName] = (r.unreadable[error.codeName] ?? 0) + chunk.length;
    problem(`UNREADABLE ${owner} ${chunk.length} slot(s) from ${chunk[0]}: ${error.codeName} ${error.message}`);
  }

  async function checkCounts(owner: string, chunk: number[], refs: Map<number, number>): Promise<void> {
    try {
      const infos = await admin.inspect(owner, chunk);
      infos.forEach((info, k) => {
        const want = refs.get(chunk[k]!) ?? 0;
        if (info.count !== want) {
          r.countMismatches++;
          problem(`COUNT ${owner} slot ${chunk[k]}: swap count ${info.count}, workload holds ${want} reference(s)`);
        }
      });
    } catch (err) {
      if (chunk.length === 1) {
        r.countMismatches++;
        problem(`COUNT ${owner} slot ${chunk[0]}: Inspect failed: ${VswapClientError.from(err).message}`);
        return;
      }
      const half = chunk.length >> 1;
      await checkCounts(owner, chunk.slice(0, half), refs);
      await checkCounts(owner, chunk.slice(half), refs);
    }
  }

  // 2. What the coordinator says each store lost.
  r.lostByStore = lostByStore(cluster.log('coordinator'));
  const losses = client.losses.explain(r.lostByStore, o.volatileStores);
  r.unexplainedLosses = losses.unexplained;
  for (const p of losses.problems) problem(p);
  for (const p of client.register.problems) problem(p);

  // 3. Free everything, then settle what nobody could know about.
  for (let attempt = 0; attempt < 5; attempt++) {
    const d = await workload.drain();
    history.add(
      'check',
      `drain: freed ${d.freed}, settled ${d.settled}, remaining ` +
        `${d.remaining}${Object.keys(d.errors).length ? `, errors ${JSON.stringify(d.errors)}` : ''}`,
    );
    if (d.remaining === 0) break;
    await sleep(500);
  }
  const owners = new Set([...workload.owners(), ...(o.extraOwners ?? [])]);
  const orphans = liveSlotsInJournal(cluster.coordinatorDataDir).filter((s) => owners.has(s.owner));
  for (const s of orphans) {
    try {
      const [info] = await admin.inspect(s.owner, [s.slot]);
      r.orphanedSlots++;
      for (let n = info?.count ?? 0; n > 0; n--) await admin.free(s.owner, [s.slot]);
    } catch (err) {
      const e = VswapClientError.from(err);
      if (e.code !== Status.NOT_FOUND)
        problem(`ORPHAN ${s.owner} slot ${s.slot}: cannot free it: ${e.codeName} ${e.message}`);
    }
  }
  if (r.orphanedSlots > 0)
    history.add(
      'check',
      `${r.orphanedSlots} orphaned slot(s) freed (swap-outs whose reply was lost: ${o.ambiguousSwapOutPages} page(s))`,
    );
  r.leaks.unexplainedSlots = Math.max(0, r.orphanedSlots - o.ambiguousSwapOutPages);
  if (r.leaks.unexplainedSlots > 0)
    problem(`LEAK ${r.leaks.unexplainedSlots} slot(s) alive after drain that no ambiguous swap-out explains`);

  // 4. Everything freed: nothing may be left anywhere (frees reach backends within a second or so).
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [stats, backends] = await Promise.all([admin.stats(), admin.listBackends()]);
    r.leaks.usedSlots = stats.usedSlots;
    r.leaks.backendPages = Object.fromEntries(backends.map((b) => [b.name, b.usedPages]));
    r.leaks.zswapStoredPages = stats.zswap.find((c) => c.name === 'stored_pages')?.value ?? 0;
    const total =
      r.leaks.usedSlots + Object.values(r.leaks.backendPages).reduce((a, b) => a + b, 0) + r.leaks.zswapStoredPages;
    if (total === 0 || Date.now() > deadline) break;
    await sleep(250);
  }
  r.leaks.total =
    r.leaks.usedSlots +
    Object.values(r.leaks.backendPages).reduce((a, b) => a + b, 0) +
    r.leaks.zswapStoredPages +
    r.leaks.unexplainedSlots;
  if (r.leaks.total > r.leaks.unexplainedSlots) {
    problem(
      `LEAK after drain: used_slots ${r.leaks.usedSlots}, backend pages ` +
        `${JSON.stringify(r.leaks.backendPages)}, zswap stored_pages ` +
        `${r.leaks.zswapStoredPages}`,
    );
  }
  return r;
}

/** Sums the coordinator's "reconcile: backend lost pages" log records per backend. */
export function lostByStore(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.includes('backend lost pages')) continue;
    try {
      const rec = JSON.parse(line) as { backend?: string; lost?: number };
      if (rec.backend && typeof rec.lost === 'number' && rec.lost > 0)
        out[rec.backend] = (out[rec.backend] ?? 0) + rec.lost;
    } catch {
      // not a JSON log line
    }
  }
  return out;
}

/**
 * Live slots and their owners, from the coordinator's journal as a restart
 * would rebuild it (the journal module reads its own files): how the checker
 * finds slots that were allocated by a swap-out whose reply never arrived.
 */
export function liveSlotsInJournal(dir: string): { slot: number; owner: string; count: number }[] {
  const owners = new Map<number, string>();
  const live = new Map<number, { owner: string; count: number }>();
  readJournal(dir, (rec) => {
    if (rec.type === RecordType.Owner) owners.set(rec.id, rec.name);
    else if (rec.type === RecordType.Release) live.delete(rec.slot);
    else if (rec.type === RecordType.Set) {
      if (rec.count === 0) live.delete(rec.slot);
      else live.set(rec.slot, { owner: owners.get(rec.ownerId) ?? '', count: rec.count });
    }
  });
  return [...live].map(([slot, v]) => ({ slot, ...v }));
}
