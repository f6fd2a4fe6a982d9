/**
 * The coordinator's whole memory per live slot (issue 9, "Memory, all in"): a
 * real Coordinator (journal and policies in a temporary directory) and the
 * RequestLog the service keeps, over in-process backends that keep no pages
 * (sink-backend.ts), filled through the same calls the gRPC service makes
 * (SwapOut under a request_id, as the SDK always sends one). The figure is the
 * growth of the process's heap plus ArrayBuffers, after full GCs, from before
 * the coordinator exists to after the fill: every table, index, map and cache.
 * Then the request log and the coordinator are dropped in turn to split it.
 *
 * Needs node --expose-gc (the bench:slots script passes it).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { type RunningCoordinator, startCoordinator } from '../../services/coordinator/running-coordinator';
import { RequestLog, requestDigest } from '../../services/coordinator/request-log';
import { TierCode } from '../../services/coordinator/slot-table';
import { SinkBackend } from './sink-backend';

/** One SwapOut: `count` pages for `owner`, one naturally aligned run when `contiguous`. */
export interface SwapOutCall {
  owner: string;
  count: number;
  contiguous: boolean;
}

export interface CoordinatorMemory {
  live: number;
  owners: number;
  /** Live slots per tier: zero, zswap, swapfile. */
  zero: number;
  zswap: number;
  swapfile: number;
  /** Heap + ArrayBuffers grown, coordinator and request log together. */
  bytes: number;
  bytesPerSlot: number;
  bytesPerOwner: number;
  /** The request log's share (what dropping it gave back). */
  requestLogBytes: number;
  /** The slot table's own estimate (memoryBytes()). */
  tableBytes: number;
  calls: number;
  ms: number;
}

function requireGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:slots does)');
  return gc;
}

/** Heap + ArrayBuffers after full collections. */
export function settledBytes(): number {
  const gc = requireGc();
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const ZERO_PAGE = Buffer.alloc(4096);
const DATA_PAGES = Array.from({ length: 8 }, (_, i) => Buffer.alloc(4096, i + 1));

let pagesMade = 0;

/** Every third page is all zero (TIER_ZERO); the others go to zswap while it has room, then the swapfile. */
function pagesFor(n: number): Buffer[] {
  const out = new Array<Buffer>(n);
  for (let i = 0; i < n; i++, pagesMade++) out[i] = pagesMade % 3 === 0 ? ZERO_PAGE : DATA_PAGES[pagesMade % 8]!;
  return out;
}

/**
 * Runs `calls` against a fresh coordinator and request log, `inFlight` at a
 * time, and measures what they hold afterwards. `zswapPages` is zswap's
 * capacity (the rest of the data pages land on the swapfile).
 */
export async function measureCoordinator(
  calls: readonly SwapOutCall[],
  zswapPages: number,
  inFlight = 32,
): Promise<CoordinatorMemory> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-mem-'));
  const zswap = new SinkBackend('zswap', zswapPages);
  const swapfile = new SinkBackend('swapfile', 1 << 30);
  const sinks = new Map([
    ['zswap', zswap],
    ['file0', swapfile],
  ]);
  // Held in an object and dropped by helpers: a local variable of this frame
  // could keep a dropped object alive in an interpreter register.
  const held: { coordinator?: RunningCoordinator; requests?: RequestLog } = {};
  try {
    const before = settledBytes();
    const t0 = performance.now();
    await open(held, dir, (name) => sinks.get(name)!);
    // What the service does for SwapOut (virtual-swap-service.ts), without the gRPC call object.
    const one = async (call: SwapOutCall): Promise<void> => {
      const pages = pagesFor(call.count);
      await held.requests!.run(
        {
          method: 'SwapOut',
          owner: call.owner,
          requestId: randomUUID(),
          digest: requestDigest('SwapOut', [call.owner, pages, call.contiguous]),
        },
        undefined,
        () => held.coordinator!.coordinator.swapOut(call.owner, pages, call.contiguous),
        (res) => res.slots.length,
      );
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls.length) await one(calls[next++]!);
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const ms = performance.now() - t0;
    const t = tableFigures(held);
    const after = settledBytes();
    dropRequestLog(held);
    const withoutLog = settledBytes();
    await dropCoordinator(held);
    const bytes = after - before;
    return {
      ...t,
      bytes,
      bytesPerSlot: bytes / t.live,
      bytesPerOwner: bytes / t.owners,
      requestLogBytes: after - withoutLog,
      calls: calls.length,
      ms,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function open(
  held: { coordinator?: RunningCoordinator; requests?: RequestLog },
  dir: string,
  sink: (name: string) => SinkBackend,
): Promise<void> {
  const log = pino({ level: 'silent' });
  held.coordinator = await startCoordinator({
    dataDir: dir,
    backends: [
      { name: 'zswap', address: 'sink:zswap', priority: 0 },
      { name: 'file0', address: 'sink:file0', priority: 0 },
    ],
    journalFsync: 'never',
    pollMs: 3_600_000,
    log,
    connect: (spec) => sink(spec.name),
  });
  held.requests = new RequestLog({ file: path.join(dir, 'requests.log'), fsync: 'never', log });
}

function tableFigures(held: { coordinator?: RunningCoordinator }): {
  live: number;
  owners: number;
  zero: number;
  zswap: number;
  swapfile: number;
  tableBytes: number;
} {
  const table = held.coordinator!.table;
  const tiers = table.pagesByTier();
  return {
    live: table.usedSlots(),
    owners: table.owners().length,
    zero: tiers[TierCode.ZERO] ?? 0,
    zswap: tiers[TierCode.ZSWAP] ?? 0,
    swapfile: tiers[TierCode.SWAPFILE] ?? 0,
    tableBytes: table.memoryBytes(),
  };
}

function dropRequestLog(held: { requests?: RequestLog }): void {
  held.requests!.close();
  held.requests = undefined;
}

async function dropCoordinator(held: { coordinator?: RunningCoordinator }): Promise<void> {
  await held.coordinator!.close();
  held.coordinator = undefined;
}

/**
 * The slot-table bench's mix as SwapOut calls: owners take turns, each turn an
 * order-0 batch of 64, every 16th turn a contiguous 512-page folio instead.
 */
export function turnsOf(ownerNames: readonly string[], target: number): SwapOutCall[] {
  const out: SwapOutCall[] = [];
  let live = 0;
  for (let i = 0; live < target; i++) {
    const owner = ownerNames[i % ownerNames.length]!;
    const huge = Math.floor(i / ownerNames.length) % 16 === 15 && target - live >= 512;
    const count = huge ? 512 : Math.min(64, target - live);
    out.push({ owner, count, contiguous: huge });
    live += count;
  }
  return out;
}

/** `owners` owners of `each` slots, one SwapOut each. */
export function smallOwners(owners: number, each: number): SwapOutCall[] {
  return Array.from({ length: owners }, (_, i) => ({
    owner: `tenant-${String(i).padStart(6, '0')}/cgroup`,
    count: each,
    contiguous: false,
  }));
}
