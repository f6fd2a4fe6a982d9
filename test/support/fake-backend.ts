/**
 * An in-process backend behind the coordinator's `connect` seam, for race
 * tests that must stop a backend call at an exact point. It stores pages in a
 * Map like a memory store, honours epochs as backend.proto says, and lets a
 * test hold the next call of a method (before or after it touches the store),
 * see that it arrived, then release it or fail it. Nothing here sleeps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import pino from 'pino';
import { afterEach } from 'vitest';
import type { BackendStatsResponse__Output } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestResponse__Output } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { DeleteResponse__Output } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { InfoResponse__Output } from '../../proto/generated/vswap/v1/InfoResponse';
import type { PutOutcome__Output } from '../../proto/generated/vswap/v1/PutOutcome';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import type { ReconcileResult } from '../../services/common/backend-client';
import type { BackendCalls, BackendKind, BackendSpec, PutOptions } from '../../services/coordinator/backend-view';
import type { CoordinatorOptions } from '../../services/coordinator/coordinator-options';
import { type RunningCoordinator, startCoordinator } from '../../services/coordinator/running-coordinator';

export type FakeMethod = 'put' | 'get' | 'delete' | 'info' | 'coldest' | 'reconcile';

/** A gRPC-shaped error, as a real client would reject with. */
export class FakeServiceError extends Error implements ServiceError {
  readonly metadata = new Metadata();
  constructor(
    readonly code: Status,
    readonly details: string,
  ) {
    super(`${code} ${Status[code]}: ${details}`);
  }
}

/** One held call: `reached` resolves with its request once the call got to the hold point. */
export interface HeldCall<Req = unknown> {
  readonly reached: Promise<Req>;
  /** Lets the call go on. */
  release(): void;
  /** Makes the call fail with this status (at an 'after' hold the store has already changed: a lost reply). */
  fail(code: Status, details?: string): void;
}

interface Hold {
  at: 'before' | 'after';
  arrived: (req: unknown) => void;
  gate: Promise<void>;
}

export interface FakeBackendOptions {
  kind: BackendKind;
  /** Pages it can hold; default 1 << 20. */
  capacityPages?: number;
  /** Reuse the lowest free handle (as the swapfile's slot + 1 does); default false (never reuse). */
  reuseHandles?: boolean;
}

export class FakeBackend implements BackendCalls {
  readonly kind: BackendKind;
  capacityPages: number;
  epoch = 'epoch-1';
  /** Reported by Info for zswap: refuses nothing itself, the coordinator reads it. */
  overThreshold = false;
  /** All calls fail UNAVAILABLE while set (the process is down). */
  down = false;
  /** Refuse Put/Get/Delete naming another epoch (backend.proto); false models a backend that only reports its epoch. */
  checksEpochs = true;
  /** Every call made, in order (method and request). */
  readonly calls: { method: FakeMethod; req: unknown }[] = [];
  readonly entries = new Map<number, { page: Buffer; tag: number }>();
  private nextHandle = 1;
  private epochs = 1;
  private readonly reuseHandles: boolean;
  private readonly holds = new Map<FakeMethod, Hold[]>();
  private readonly failures = new Map<FakeMethod, { code: Status; details: string }[]>();

  constructor(options: FakeBackendOptions) {
    this.kind = options.kind;
    this.capacityPages = options.capacityPages ?? 1 << 20;
    this.reuseHandles = options.reuseHandles ?? false;
  }

  /** Holds the next call of `method` at `at` ('before' the store is touched, or 'after', before the reply). */
  hold<Req = unknown>(method: FakeMethod, at: 'before' | 'after' = 'before'): HeldCall<Req> {
    let arrived!: (req: unknown) => void;
    const reached = new Promise<Req>((r) => (arrived = r as (req: unknown) => void));
    let open!: () => void;
    let shut!: (err: Error) => void;
    const gate = new Promise<void>((res, rej) => {
      open = res;
      shut = rej;
    });
    const list = this.holds.get(method) ?? [];
    list.push({ at, arrived, gate });
    this.holds.set(method, list);
    return {
      reached,
      release: () => open(),
      fail: (code, details = 'failed by the test') => shut(new FakeServiceError(code, details)),
    };
  }

  /** Fails the next call of `method` with `code` before it touches the store. */
  failNext(method: FakeMethod, code: Status, details = 'failed by the test'): void {
    const list = this.failures.get(method) ?? [];
    list.push({ code, details });
    this.failures.set(method, list);
  }

  /** The backend restarted and lost everything: new epoch, empty store, handles start again. */
  restartEmpty(): void {
    this.entries.clear();
    this.nextHandle = 1;
    this.epoch = `epoch-${++this.epochs}`;
  }

  count(method: FakeMethod): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  /** Runs one call: fails or holds it as the test asked, else runs `fn` against the store. */
  private async run<T>(method: FakeMethod, req: unknown, fn: () => T): Promise<T> {
    this.calls.push({ method, req });
    // Answer asynchronously, as a real call does.
    await Promise.resolve();
    if (this.down) throw new FakeServiceError(Status.UNAVAILABLE, 'No connection established (fake backend down)');
    const failure = this.failures.get(method)?.shift();
    if (failure) throw new FakeServiceError(failure.code, failure.details);
    const hold = this.holds.get(method)?.shift();
    if (hold?.at === 'before') {
      hold.arrived(req);
      await hold.gate;
    }
    const out = fn();
    if (hold?.at === 'after') {
      hold.arrived(req);
      await hold.gate;
    }
    return out;
  }

  private checkEpoch(epoch: string | undefined): void {
    if (this.checksEpochs && epoch && epoch !== this.epoch)
      throw new FakeServiceError(Status.FAILED_PRECONDITION, `epoch ${epoch} is not the current epoch ${this.epoch}`);
  }

  private newHandle(): number {
    if (this.reuseHandles) {
      let h = 1;
      while (this.entries.has(h)) h++;
      return h;
    }
    return this.nextHandle++;
  }

  put(pages: Buffer[], options: PutOptions = {}): Promise<PutResponse__Output> {
    return this.run('put', { pages, ...options }, () => {
      this.checkEpoch(options.epoch);
      const handles: number[] = [];
      const outcomes: PutOutcome__Output[] = [];
      pages.forEach((page, i) => {
        if (this.entries.size >= this.capacityPages) {
          handles.push(0);
          outcomes.push('PUT_NO_SPACE');
          return;
        }
        const h = this.newHandle();
        this.entries.set(h, { page: Buffer.from(page), tag: options.tags?.[i] ?? 0 });
        handles.push(h);
        outcomes.push('PUT_STORED');
      });
      return { handles, outcomes, storedSizes: pages.map((p) => p.length), epoch: this.epoch };
    });
  }

  get(handles: number[], touch = true, epoch = ''): Promise<GetResponse__Output> {
    return this.run('get', { handles, touch, epoch }, () => {
      this.checkEpoch(epoch);
      const pages = handles.map((h) => {
        const e = this.entries.get(h);
        if (!e) throw new FakeServiceError(Status.NOT_FOUND, `handle ${h} not found`);
        return Buffer.from(e.page);
      });
      if (touch) {
        // Most recently used last: Coldest reads from the front.
        for (const h of handles) {
          const e = this.entries.get(h)!;
          this.entries.delete(h);
          this.entries.set(h, e);
        }
      }
      return { pages };
    });
  }

  delete(handles: number[], reason: DeleteReason, ignoreMissing = false, epoch = ''): Promise<DeleteResponse__Output> {
    return this.run('delete', { handles, reason, ignoreMissing, epoch }, () => {
      this.checkEpoch(epoch);
      const missing = handles.filter((h) => !this.entries.has(h));
      if (missing.length > 0 && !ignoreMissing)
        throw new FakeServiceError(Status.NOT_FOUND, `handle ${missing[0]} not found`);
      let deleted = 0;
      for (const h of handles) if (this.entries.delete(h)) deleted++;
      return { deleted, missing: ignoreMissing ? missing : [] };
    });
  }

  info(): Promise<InfoResponse__Output> {
    return this.run('info', {}, () => ({
      kind: this.kind,
      store: 'memory',
      capacityPages: this.capacityPages,
      usedPages: this.entries.size,
      storedBytes: this.entries.size * 4096,
      epoch: this.epoch,
      overThreshold: this.overThreshold,
      poolLimitBytes: this.kind === 'zswap' ? this.capacityPages * 4096 : 0,
      acceptThresholdPercent: this.kind === 'zswap' ? 90 : 0,
      maxBatch: 512,
      volatile: true,
      compressor: '',
    }));
  }

  stats(): Promise<BackendStatsResponse__Output> {
    return Promise.resolve({ counters: [] } as unknown as BackendStatsResponse__Output);
  }

  coldest(maxEntries: number): Promise<ColdestResponse__Output> {
    return this.run('coldest', { maxEntries }, () => ({
      entries: [...this.entries]
        .slice(0, maxEntries)
        .map(([handle, e]) => ({ handle, page: Buffer.from(e.page), tag: e.tag })),
    }));
  }

  reconcile(live: readonly number[]): Promise<ReconcileResult> {
    return this.run('reconcile', { live }, () => {
      const named = new Set(live);
      const missing = live.filter((h) => !this.entries.has(h));
      let deleted = 0;
      for (const h of [...this.entries.keys()]) {
        if (!named.has(h)) {
          this.entries.delete(h);
          deleted++;
        }
      }
      return { missing, deleted, epoch: this.epoch };
    });
  }

  close(): void {}
}

/** A running coordinator (its data path, admin, reporting, table, registry...) and its fakes. */
export interface FakeCluster extends RunningCoordinator {
  backends: Map<string, FakeBackend>;
  dir: string;
  /** Closes the coordinator and removes its directory. */
  close(): Promise<void>;
}

/**
 * Starts a real coordinator (real journal in a temporary directory) over
 * in-process fake backends. `backends` in the order given, priority from the
 * spec. The Info poll does not run on a timer (pollMs is huge): tests call
 * `registry.pollOnce()` when they want one.
 */
export async function startOverFakes(
  backends: { name: string; priority?: number; fake: FakeBackend }[],
  options: Partial<Omit<CoordinatorOptions, 'backends' | 'connect' | 'dataDir' | 'log'>> = {},
): Promise<FakeCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-fake-'));
  const byName = new Map(backends.map((b) => [b.name, b.fake]));
  const specs: BackendSpec[] = backends.map((b) => ({
    name: b.name,
    address: `fake:${b.name}`,
    priority: b.priority ?? 0,
  }));
  const running = await startCoordinator({
    dataDir: dir,
    backends: specs,
    pollMs: 3_600_000,
    log: pino({ level: 'silent' }),
    ...options,
    connect: (spec) => {
      const f = byName.get(spec.name);
      if (!f) throw new Error(`no fake backend named ${spec.name}`);
      return f;
    },
  });
  return {
    ...running,
    backends: byName,
    dir,
    async close() {
      await running.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A page whose bytes say `text` (repeated), distinct per text. */
export function page(text: string): Buffer {
  const b = Buffer.alloc(4096);
  b.write(text.repeat(Math.ceil(4096 / Math.max(1, text.length))).slice(0, 4096));
  return b;
}

/** Lets every pending callback and I/O completion run `n` times over (no clock involved). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A backend of a fake cluster: its kind, or the fake's options plus a priority. */
export type FakeSpec = BackendKind | (FakeBackendOptions & { priority?: number });

export interface StartedFakes extends FakeCluster {
  /** The fake named `name` (throws for a name not started). */
  fake(name: string): FakeBackend;
}

/**
 * The set-up every coordinator unit test repeats: call it in a `describe`;
 * `start({ zswap: 'zswap', file0: { kind: 'swapfile', priority: 10 } })`
 * starts a coordinator over new fakes (in that order; or over fakes the test
 * made, in startOverFakes' list form), and the cluster is closed after each test.
 */
export function fakeClusters(): {
  start(
    backends: Record<string, FakeSpec> | Parameters<typeof startOverFakes>[0],
    options?: Parameters<typeof startOverFakes>[1],
  ): Promise<StartedFakes>;
} {
  let started: FakeCluster | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    async start(backends, options) {
      const list = Array.isArray(backends)
        ? backends
        : Object.entries(backends).map(([name, spec]) => {
            const o = typeof spec === 'string' ? { kind: spec } : spec;
            return { name, priority: o.priority, fake: new FakeBackend(o) };
          });
      const fc = await startOverFakes(list, options);
      started = fc;
      return {
        ...fc,
        fake(name) {
          const f = fc.backends.get(name);
          if (!f) throw new Error(`no fake backend named ${name}`);
          return f;
        },
      };
    },
  };
}
