/**
 * Nemeses: the faults a run injects, each applied and healed by one
 * function. Which nemesis, on which node, for how long: all drawn from the
 * run's seeded PRNG, so a seed replays the same sequence of faults (the wall
 * clock still decides which requests are in flight when one lands).
 */
import { Rng } from '../workload/prng';
import { BACKENDS, type BackendName, type FaultCluster, sleep } from './fault-cluster';
import type { History } from './history';

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
    else throw new RangeError(`unknown nemesis "${name}"; one of: ${[...Object.keys(NEMESIS_GROUPS), ...NEMESIS_KINDS].join(', ')}`);
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
      const node = kind === 'kill-zswap' ? 'zswap' : kind === 'kill-file-swapfile' ? 'file0' : kind === 'kill-remote-swapfile' ? 'remote0' : 'redis';
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
      const node = kind === 'pause-coordinator' ? 'coordinator' : kind === 'pause-redis' ? 'redis' : pick(rng, BACKENDS);
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
      history.fault(`${kind}: file0 limited to ${bytes} bytes of file (RLIMIT_FSIZE, writes beyond fail with EFBIG) for ${ms} ms`);
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
        history.fault(`${kind}: coordinator<->${target} partitioned (no bytes flow, new connections hang) for ${ms} ms`);
      } else {
        proxy.setMode({ kind: 'reset' });
        history.fault(`${kind}: coordinator<->${target} connections reset (RST), new ones too, for ${Math.min(ms, 800)} ms`);
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
      history.fault(`${kind}: the harness failed to apply or heal it: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }
}
