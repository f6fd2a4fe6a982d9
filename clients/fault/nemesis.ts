/**
 * Nemeses: the faults a run injects, each applied and healed by one
 * function. Which nemesis, on which node, for how long: all drawn from the
 * run's seeded PRNG, so a seed replays the same sequence of faults (the wall
 * clock still decides which requests are in flight when one lands).
 */
import { VswapClientError } from '../sdk/errors';
import { Rng } from '../workload/prng';
import { BACKENDS, type BackendName, type FaultCluster, sleep } from './fault-cluster';
import { deadlineStorm } from './deadline-storm';
import { liveSlotsInJournal } from './checker';
import type { History } from './history';
import type { DedupLevel, RecordingClient } from './recording-client';

export const NEMESIS_KINDS = [
  'kill-coordinator',
  'kill-zswap',
  'kill-file-swapfile',
  'kill-remote-swapfile',
  'kill-redis',
  'pause-coordinator',
  'pause-backend',
  'pause-redis',
  'disk-full',
  'net-delay',
  'net-blackhole',
  'net-reset',
  'restart-during-writeback',
  'restart-during-swapoff',
  'fast-restart-backend',
  'redis-wipe',
  'redis-rollback',
  'equal-priority-reconcile',
  'deadline-storm',
  'cancel-swapoff',
  'swapoff-swapon-race',
  'journal-disk-full',
] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

/** Names accepted by --nemeses besides the kinds themselves. */
export const NEMESIS_GROUPS: Record<string, readonly NemesisKind[]> = {
  all: NEMESIS_KINDS,
  kill: ['kill-coordinator', 'kill-zswap', 'kill-file-swapfile', 'kill-remote-swapfile', 'kill-redis'],
  'kill-backends': ['kill-zswap', 'kill-file-swapfile', 'kill-remote-swapfile', 'kill-redis'],
  pause: ['pause-coordinator', 'pause-backend', 'pause-redis'],
  net: ['net-delay', 'net-blackhole', 'net-reset'],
  coordinator: ['kill-coordinator', 'pause-coordinator', 'restart-during-writeback', 'restart-during-swapoff'],
  'coordinator-restart': ['restart-during-writeback', 'restart-during-swapoff'],
  redis: ['kill-redis', 'pause-redis', 'redis-wipe', 'redis-rollback'],
  restart: ['fast-restart-backend', 'equal-priority-reconcile', 'redis-wipe', 'redis-rollback'],
  client: ['deadline-storm', 'cancel-swapoff'],
  swapoff: ['restart-during-swapoff', 'cancel-swapoff', 'swapoff-swapon-race'],
};

/** Parses "kill,net-delay,disk-full" (kinds and group names); throws naming an unknown one. */
export function parseNemeses(spec: string): NemesisKind[] {
  const out = new Set<NemesisKind>();
  for (const raw of spec.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const group = NEMESIS_GROUPS[name];
    if (group) group.forEach((k) => out.add(k));
    else if ((NEMESIS_KINDS as readonly string[]).includes(name)) out.add(name as NemesisKind);
    else
      throw new RangeError(
        `unknown nemesis "${name}"; one of: ${[...Object.keys(NEMESIS_GROUPS), ...NEMESIS_KINDS].join(', ')}`,
      );
  }
  if (out.size === 0) throw new RangeError('no nemesis given');
  return [...out];
}

export interface NemesisContext {
  cluster: FaultCluster;
  history: History;
  rng: Rng;
  /** Faults injected so far, by kind. */
  counts: Record<string, number>;
  /** The workload's client (the deadline storm cuts its calls short too). */
  client?: RecordingClient;
  /** What the coordinator's request_id dedup covers. */
  dedup?: DedupLevel;
  /** The owner the deadline storm uses (its slots must all be gone afterwards). */
  stormOwner?: string;
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** Applies one nemesis and heals it before returning. */
export async function applyNemesis(kind: NemesisKind, ctx: NemesisContext): Promise<void> {
  const { cluster, history, rng } = ctx;
  ctx.counts[kind] = (ctx.counts[kind] ?? 0) + 1;
  switch (kind) {
    case 'kill-coordinator':
      await cluster.restartCoordinator(kind, between(rng, 0, 500));
      return;
    case 'kill-zswap':
    case 'kill-file-swapfile':
    case 'kill-remote-swapfile':
    case 'kill-redis': {
      const node =
        kind === 'kill-zswap'
          ? 'zswap'
          : kind === 'kill-file-swapfile'
            ? 'file0'
            : kind === 'kill-remote-swapfile'
              ? 'remote0'
              : 'redis';
      const down = between(rng, 100, 1500);
      await cluster.kill(node);
      history.fault(`${kind}: ${node} killed (SIGKILL), down for ${down} ms`);
      await sleep(down);
      await cluster.startAgain(node);
      history.fault(`${kind}: ${node} started again`);
      return;
    }
    case 'pause-coordinator':
    case 'pause-backend':
    case 'pause-redis': {
      const node =
        kind === 'pause-coordinator' ? 'coordinator' : kind === 'pause-redis' ? 'redis' : pick(rng, BACKENDS);
      const ms = between(rng, 200, 2500);
      cluster.pause(node);
      history.fault(`${kind}: ${node} paused (SIGSTOP) for ${ms} ms`);
      await sleep(ms);
      cluster.resume(node);
      history.fault(`${kind}: ${node} resumed (SIGCONT)`);
      return;
    }
    case 'disk-full': {
      // A few clusters' worth of the file: writes to higher slots fail with EFBIG.
      const bytes = between(rng, 1, 16) * 64 * 1024;
      const ms = between(rng, 500, 3000);
      await cluster.limitFileSize('file0', bytes);
      history.fault(
        `${kind}: file0 limited to ${bytes} bytes of file (RLIMIT_FSIZE, writes beyond fail with EFBIG) for ${ms} ms`,
      );
      await sleep(ms);
      await cluster.limitFileSize('file0', undefined);
      history.fault(`${kind}: file0 file size limit lifted`);
      return;
    }
    case 'net-delay':
    case 'net-blackhole':
    case 'net-reset': {
      const target: BackendName = pick(rng, BACKENDS);
      const proxy = cluster.proxy(target);
      const ms = between(rng, 300, 2500);
      if (kind === 'net-delay') {
        const delay = between(rng, 5, 400);
        proxy.setMode({ kind: 'delay', ms: delay });
        history.fault(`${kind}: coordinator<->${target} delayed ${delay} ms per chunk for ${ms} ms`);
      } else if (kind === 'net-blackhole') {
        proxy.setMode({ kind: 'blackhole' });
        history.fault(
          `${kind}: coordinator<->${target} partitioned (no bytes flow, new connections hang) for ${ms} ms`,
        );
      } else {
        proxy.setMode({ kind: 'reset' });
        history.fault(
          `${kind}: coordinator<->${target} connections reset (RST), new ones too, for ${Math.min(ms, 800)} ms`,
        );
      }
      await sleep(kind === 'net-reset' ? Math.min(ms, 800) : ms);
      proxy.setMode({ kind: 'pass' });
      history.fault(`${kind}: coordinator<->${target} healed`);
      return;
    }
    case 'restart-during-writeback': {
      const delay = between(rng, 0, 150);
      const wb = cluster.hangs
        .track('writeback 100000', 30_000, () => cluster.admin.writeback(100_000))
        .then(
          (n) => `${n} pages written back`,
          (err: unknown) => `writeback call ended: ${err instanceof Error ? err.message : String(err)}`,
        );
      history.fault(`${kind}: writeback of up to 100000 pages started; coordinator killed in ${delay} ms`);
      await sleep(delay);
      await cluster.restartCoordinator(kind);
      history.fault(`${kind}: ${await wb}`);
      return;
    }
    case 'restart-during-swapoff': {
      const target: BackendName = pick(rng, ['zswap', 'file0', 'remote0'] as const);
      const delay = between(rng, 0, 300);
      cluster.swappedOff.add(target);
      const done = cluster.swapoff(target);
      history.fault(`${kind}: swapoff ${target} started; coordinator killed in ${delay} ms`);
      await sleep(delay);
      await cluster.restartCoordinator(kind);
      history.fault(`${kind}: ${await done}`);
      await cluster.admin.swapon(target, 0);
      cluster.swappedOff.delete(target);
      history.fault(`${kind}: swapon ${target}`);
      return;
    }
    case 'fast-restart-backend': {
      // Killed and started again at once: back before the coordinator's next Info poll notices.
      const node: BackendName = pick(rng, BACKENDS);
      await cluster.kill(node);
      await cluster.startAgain(node);
      history.fault(`${kind}: ${node} killed (SIGKILL) and started again at once`);
      return;
    }
    case 'redis-wipe': {
      await cluster.wipeRedis();
      history.fault(
        `${kind}: redis killed, its files deleted, started again empty (a ` +
          'restart without persistence: remote0 may lose pages, and must say so)',
      );
      return;
    }
    case 'redis-rollback': {
      const copy = cluster.snapshotRedis();
      const ms = between(rng, 200, 1500);
      history.fault(`${kind}: redis files copied; rolled back to that copy in ${ms} ms`);
      await sleep(ms);
      await cluster.rollbackRedis(copy);
      history.fault(
        `${kind}: redis killed and started again from the older copy of its ` +
          'files (remote0 lost its later writes, and must say so)',
      );
      return;
    }
    case 'equal-priority-reconcile': {
      // Both swapfiles at one priority (spills go both ways), then both restart: reconciles on both at once.
      const before = await cluster.backendStates();
      const prio = between(rng, 0, 5);
      for (const b of ['file0', 'remote0'] as const)
        if (before.get(b)?.state === 'active') await cluster.admin.swapon(b, prio);
      await Promise.all((['file0', 'remote0'] as const).map((b) => cluster.kill(b)));
      await Promise.all((['file0', 'remote0'] as const).map((b) => cluster.startAgain(b)));
      history.fault(`${kind}: file0 and remote0 at priority ${prio}, both killed (SIGKILL) and started again at once`);
      await sleep(between(rng, 500, 2000));
      for (const b of ['file0', 'remote0'] as const) {
        const was = before.get(b);
        if (was?.state === 'active') await cluster.admin.swapon(b, was.priority);
      }
      history.fault(`${kind}: priorities restored`);
      return;
    }
    case 'deadline-storm': {
      const owner = ctx.stormOwner ?? 'storm';
      const onWorkload = ctx.client?.deadlineStorm(between(rng, 500, 2000)) ?? false;
      history.fault(
        `${kind}: 40 calls of ${owner} with deadlines of 1-40 ms or cancelled mid-request` +
          (onWorkload ? ", and the workload's own mutations cut short too (retried with their request_id)" : ''),
      );
      const r = await deadlineStorm({
        address: cluster.address,
        owner,
        rng,
        dedup: ctx.dedup ?? 'none',
        hangs: cluster.hangs,
        access: cluster.access,
      });
      history.fault(
        `${kind}: ${r.calls} calls: ${JSON.stringify(r.codes)}; ` +
          `${r.settledByRetry} settled by a retry, ${r.unknown} unknown; ` +
          `${r.slotsLeft} slot(s) left after freeing what it knew of`,
      );
      if (r.slotsLeft > 0) {
        const left = liveSlotsInJournal(cluster.coordinatorDataDir).filter((x) => x.owner === owner);
        for (const x of left)
          for (let n = x.count; n > 0; n--) await cluster.admin.free(owner, [x.slot]).catch(() => undefined);
        const why =
          r.unknown === 0 ? "though every call's outcome was learnt" : `${r.unknown} call(s) of unknown outcome`;
        const text =
          `deadline storm left ${r.slotsLeft} slot(s) of ${owner} alive ` +
          `(${why}): a call cut short must roll back or be found by its retry`;
        if (r.unknown === 0) cluster.violations.push(text);
        history.fault(`${kind}: ${text}; freed ${left.length}`);
      }
      return;
    }
    case 'cancel-swapoff': {
      // The client goes away mid-swapoff: the backend must go back into service, nothing left draining.
      const target: BackendName = pick(rng, BACKENDS);
      const before = (await cluster.backendStates()).get(target);
      if (before?.state !== 'active') return;
      const stop = new AbortController();
      cluster.swappedOff.add(target);
      const done = cluster.swapoff(target, 60_000, stop.signal);
      const ms = between(rng, 0, 300);
      await sleep(ms);
      stop.abort();
      const outcome = await done;
      history.fault(`${kind}: swapoff ${target} cancelled by the client after ${ms} ms: ${outcome}`);
      const state = await settledState(cluster, target, 10_000);
      if (state === 'draining')
        cluster.violations.push(`swapoff of ${target} cancelled by its client left it draining for more than 10 s`);
      history.fault(`${kind}: ${target} is ${state} after the cancelled swapoff`);
      if (state === 'off' || state === 'draining') await cluster.admin.swapon(target, before.priority);
      cluster.swappedOff.delete(target);
      return;
    }
    case 'swapoff-swapon-race': {
      // Two backends swapped off at once (each drains into the third), and one swapped on again mid-drain.
      const before = await cluster.backendStates();
      const spared: BackendName = pick(rng, BACKENDS);
      const targets = BACKENDS.filter((b) => b !== spared && before.get(b)?.state === 'active');
      if (targets.length === 0) return;
      targets.forEach((t) => cluster.swappedOff.add(t));
      const ended = new Set<string>();
      const runs = targets.map((t) => cluster.swapoff(t, 60_000).finally(() => ended.add(t)));
      const again = pick(rng, targets);
      const ms = between(rng, 0, 400);
      history.fault(`${kind}: swapoff of ${targets.join(' and ')} at once; swapon ${again} in ${ms} ms`);
      await sleep(ms);
      // A Swapon sent before the drain began may take effect first (then the drain ends off, rightly): the
      // rule "a Swapon during a drain wins" applies only once the backend was seen draining.
      let seenDraining = false;
      for (const end = Date.now() + 2000; !ended.has(again) && Date.now() < end;) {
        if ((await cluster.backendStates()).get(again)?.state === 'draining') {
          seenDraining = true;
          break;
        }
        await sleep(20);
      }
      let swaponOk = false;
      try {
        await cluster.admin.swapon(again, before.get(again)!.priority);
        swaponOk = true;
      } catch (err) {
        history.fault(`${kind}: swapon ${again} refused: ${err instanceof Error ? err.message : String(err)}`);
      }
      history.fault(
        `${kind}: swapon ${again} ${swaponOk ? 'acknowledged' : 'refused'}` +
          (seenDraining ? ' while it was seen draining' : ' (its drain was not seen running)'),
      );
      for (const line of await Promise.all(runs)) history.fault(`${kind}: ${line}`);
      const after = await cluster.backendStates();
      for (const t of targets)
        if (after.get(t)?.state === 'draining')
          cluster.violations.push(`${t} left draining after its swapoff ended (swapoff/swapon race)`);
      if (swaponOk && seenDraining && after.get(again)?.state !== 'active')
        cluster.violations.push(
          `swapon of ${again} during its drain was acknowledged, but ${again} ` +
            `ended ${after.get(again)?.state} (the drain's end overwrote it)`,
        );
      history.fault(`${kind}: states after: ${targets.map((t) => `${t} ${after.get(t)?.state}`).join(', ')}`);
      for (const t of targets) {
        if (after.get(t)?.state !== 'active') await cluster.admin.swapon(t, before.get(t)!.priority);
        cluster.swappedOff.delete(t);
      }
      return;
    }
    case 'journal-disk-full': {
      // The coordinator's disk fills: its files cannot grow past their size now (RLIMIT_FSIZE), and a
      // filler (Allocate/Free of 512 slots) drives the journal to that end while the workload runs.
      const owner = ctx.stormOwner ?? 'storm';
      // At the journal log's size (zero-filled ahead): writes into it go on, its growth fails. It may grow
      // between the stat and prlimit's taking effect: then raise the limit to the new size, or its next
      // write (not a growth) would fail and stop it until restart.
      let bytes = cluster.coordinatorJournalBytes();
      for (let tries = 0; tries < 5; tries++) {
        await cluster.limitFileSize('coordinator', bytes);
        const now = cluster.coordinatorJournalBytes();
        if (now <= bytes) break;
        bytes = now;
      }
      const ms = between(rng, 1000, 3000);
      history.fault(
        `${kind}: the coordinator's files may not grow past ${bytes} bytes ` +
          `(RLIMIT_FSIZE: EFBIG); filling its journal, then ${ms} ms full`,
      );
      // Fill until the journal is full (at most 20 s), then hold the full disk for `ms`.
      let until = Date.now() + 20_000;
      const codes: Record<string, number> = {};
      /** Slots the filler holds (a Free refused for want of room is sent again once there is room). */
      let held: number[] = [];
      while (Date.now() < until) {
        try {
          if (held.length === 0)
            held = await cluster.hangs.track('journal filler allocate', 15_000, () =>
              cluster.admin.allocate(owner, 512),
            );
          await cluster.hangs.track('journal filler free', 15_000, () => cluster.admin.free(owner, held));
          held = [];
          codes.OK = (codes.OK ?? 0) + 1;
        } catch (err) {
          const name = err instanceof VswapClientError ? err.codeName : 'ERROR';
          if (name === 'RESOURCE_EXHAUSTED' && !codes[name]) until = Math.min(until, Date.now() + ms);
          codes[name] = (codes[name] ?? 0) + 1;
          await sleep(50);
        }
      }
      const alive = cluster.pid('coordinator') !== undefined;
      let readable = true;
      try {
        await cluster.admin.stats();
      } catch {
        readable = false;
      }
      await cluster.limitFileSize('coordinator', undefined);
      history.fault(
        `${kind}: filler answers ${JSON.stringify(codes)}; limit lifted; the ` +
          'coordinator ' +
          `${alive ? 'stayed up' : 'EXITED'}${alive && !readable ? ' but did not answer Stats' : ''}`,
      );
      if (!alive) {
        cluster.violations.push(
          "the coordinator exited when its journal's disk was full (it must " +
            'answer RESOURCE_EXHAUSTED or UNAVAILABLE and stay up)',
        );
        await cluster.healAll();
        return;
      }
      if (!readable)
        cluster.violations.push("the coordinator stopped answering Stats while its journal's disk was full");
      if (!codes.RESOURCE_EXHAUSTED)
        history.fault(`${kind}: the journal never filled (no RESOURCE_EXHAUSTED within 20 s)`);
      // Writes resume once there is room (bounded as the other recoveries are: 30 s, for a loaded CI machine).
      let resumed = false;
      for (const end = Date.now() + 30_000; !resumed && Date.now() < end;) {
        try {
          if (held.length > 0) await cluster.admin.free(owner, held);
          held = [];
          const slots = await cluster.admin.allocate(owner, 1);
          await cluster.admin.free(owner, slots);
          resumed = true;
        } catch {
          await sleep(200);
        }
      }
      if (!resumed)
        cluster.violations.push("writes did not resume within 30 s after the journal's disk had room again");
      return;
    }
  }
}

/** A backend's state once no drain is in progress (or 'draining' after timeoutMs). */
async function settledState(cluster: FaultCluster, name: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await cluster.backendStates()).get(name)?.state ?? 'unknown';
    if (state !== 'draining' || Date.now() > deadline) return state;
    await sleep(100);
  }
}

export interface ScheduleOptions {
  kinds: readonly NemesisKind[];
  /** Quiet time between faults: drawn from [minGapMs, maxGapMs]; default 300..1500. */
  minGapMs?: number;
  maxGapMs?: number;
}

/**
 * Applies nemeses one after another until the signal aborts: a quiet gap,
 * then a fault drawn from the seed, applied and healed. Every kind is used
 * once (in a seeded order) before any repeats, so a short run still covers
 * all the kinds it was given.
 */
export async function runSchedule(ctx: NemesisContext, options: ScheduleOptions, signal: AbortSignal): Promise<void> {
  const { rng, history } = ctx;
  let bag: NemesisKind[] = [];
  while (!signal.aborted) {
    await sleep(between(rng, options.minGapMs ?? 300, options.maxGapMs ?? 1500));
    if (signal.aborted) return;
    if (bag.length === 0) {
      bag = [...options.kinds];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [bag[i], bag[j]] = [bag[j]!, bag[i]!];
      }
    }
    const kind = bag.pop()!;
    try {
      await applyNemesis(kind, ctx);
    } catch (err) {
      history.fault(
        `${kind}: the harness failed to apply or heal it: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw err;
    }
  }
}
