/**
 * The backends a coordinator is attached to, as `/proc/swaps` sees them: name,
 * kind, store, priority and state, plus what the last Info said. A poller
 * refreshes Info in the background; an epoch change (a volatile store
 * restarted) or a backend that comes back triggers reconciliation.
 */
import { BackendClient } from '../common/backend-client';
import type { Logger } from '../common/logger';
import type { InfoResponse__Output } from '../../proto/generated/vswap/v1/InfoResponse';
import { CoalescingCalls } from './coalesce';
import type { BackendCalls, BackendKind, BackendSpec, BackendState, BackendView, ConnectBackend } from './backend-view';

export type { BackendKind, BackendSpec, BackendState } from './backend-view';

/** The default connection: a gRPC client with a deadline on every call, Puts and Gets of a turn combined. */
export const connectGrpc: ConnectBackend = (spec, options) =>
  new CoalescingCalls(new BackendClient(spec.address, { deadlineMs: options.deadlineMs }));

/** Parses "zswap=127.0.0.1:50052,file0=127.0.0.1:50053@10" (priority after @, default 0). */
export function parseBackendSpecs(raw: string): BackendSpec[] {
  if (raw.trim() === '') return [];
  const specs = raw.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9._-]{1,64})=([^@\s]+:\d+)(?:@(-?\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`"${part}" is not name=host:port[@priority]`);
    return { name: m[1]!, address: m[2]!, priority: m[3] === undefined ? 0 : Number(m[3]) };
  });
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new Error(`backend name "${s.name}" given twice`);
    names.add(s.name);
  }
  if (specs.length > 250) throw new Error('at most 250 backends');
  return specs;
}

/** A drain in progress (see AttachedBackend.startDrain). */
export interface DrainTicket {
  /** The state before the drain, restored when it is interrupted. */
  readonly before: BackendState;
  /** True while the drain is still what set the state (no Swapon since). */
  current(): boolean;
  /** Ends the drain: 'off' when done, 'restore' when interrupted. False if a Swapon came first (nothing changed). */
  finish(outcome: 'off' | 'restore'): boolean;
}

export class AttachedBackend implements BackendView {
  /** Id stored in the slot table's backend field (1..250; 0 = none). */
  readonly id: number;
  readonly name: string;
  readonly address: string;
  readonly client: BackendCalls;
  private _priority: number;
  private _state: BackendState = 'active';
  /** Bumped by every state change, so a drain that ends knows whether a Swapon came in meanwhile. */
  private stateChanges = 0;
  private _reservedByDrain = 0;
  private _info: InfoResponse__Output | undefined;
  private _reachable = false;
  private _reconciledEpoch: string | undefined;
  private _knownEpoch: string | undefined;
  /** Writes in flight to this backend; reconcile waits for them. */
  private writesInFlight = 0;
  /** Set while reconciling: new writes wait (see AttachedBackend.beginWrite). */
  private reconcileGate: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(id: number, spec: BackendSpec, client: BackendCalls) {
    this.id = id;
    this.name = spec.name;
    this.address = spec.address;
    this._priority = spec.priority;
    this.client = client;
  }

  get priority(): number {
    return this._priority;
  }

  get state(): BackendState {
    return this._state;
  }

  /** Swapon: back in service at `priority` (ends the effect of any drain in progress). */
  swapon(priority: number): void {
    this._priority = priority;
    this._state = 'active';
    this.stateChanges++;
  }

  /**
   * Swapoff starts: no new stores here. Returns the ticket that ends the
   * drain; it changes the state only if nothing else (a Swapon) did meanwhile.
   */
  startDrain(): DrainTicket {
    const before = this._state;
    this._state = 'draining';
    const change = ++this.stateChanges;
    return {
      before,
      current: () => this.stateChanges === change,
      finish: (outcome) => {
        if (this.stateChanges !== change) return false;
        this._state = outcome === 'off' ? 'off' : before;
        this.stateChanges++;
        return true;
      },
    };
  }

  /** Its epoch is not the one reconciled: no stores until the next poll reconciles it. */
  invalidate(): void {
    this._reconciledEpoch = undefined;
  }

  /** Pages running swapoffs of this backend have counted on finding room elsewhere. */
  get reservedByDrain(): number {
    return this._reservedByDrain;
  }

  /** A swapoff of this backend counts on `pages` pages of room elsewhere (0 when it ends). */
  reserveForDrain(pages: number): void {
    this._reservedByDrain = pages;
  }

  /** Last Info; undefined until the backend answered once. */
  get info(): InfoResponse__Output | undefined {
    return this._info;
  }

  get reachable(): boolean {
    return this._reachable;
  }

  /**
   * Epoch the slot table was last reconciled against; cleared when the
   * backend needs a reconcile again (it is not writable until then).
   */
  get reconciledEpoch(): string | undefined {
    return this._reconciledEpoch;
  }

  /**
   * The epoch the table's handles on this backend belong to (the last one
   * reconciled; never cleared). Gets and Deletes name it, so a backend that
   * restarted into a new epoch refuses them instead of serving or deleting a
   * page stored since under a handle that looks the same (issue 10, defect 2).
   */
  get knownEpoch(): string | undefined {
    return this._knownEpoch;
  }

  /** It answered Info: reachable, and this is what it said. */
  answered(info: InfoResponse__Output): void {
    this._info = info;
    this._reachable = true;
  }

  /**
   * It did not answer. When it comes back it is reconciled even with the same
   * epoch: a restarted backend may have lost frees or kept a Put whose reply
   * we never got (found by the fault harness: pages leaked on remote0 after
   * kill-redis + kill-remote-swapfile, seed 3).
   */
  unreachable(): void {
    this._reachable = false;
    this._reconciledEpoch = undefined;
  }

  /** The table now matches what it holds in `epoch` (undefined: it did not say). */
  reconciled(epoch: string | undefined): void {
    this._reconciledEpoch = epoch;
    this._knownEpoch = epoch ?? '';
  }

  get kind(): BackendKind | undefined {
    const k = this.info?.kind;
    return k === 'zswap' || k === 'swapfile' ? k : undefined;
  }

  get store(): string {
    return this.info?.store ?? '';
  }

  /** In service for new stores: active, reachable, and reconciled. */
  get writable(): boolean {
    return (
      this.state === 'active' &&
      this.reachable &&
      this.reconciledEpoch !== undefined &&
      this.reconciledEpoch === this.info?.epoch
    );
  }

  /**
   * Registers a write (a Put whose handles the table will reference) if the
   * backend takes new stores now. Never waits: a write that finds a
   * reconcile running (a handle stored during it could be deleted as
   * unreferenced) goes to another backend instead. Writes never wait for
   * reconciles and reconciles wait only for writes, so the two cannot wait
   * for each other in a cycle (issue 10, defect 4: two SwapOuts each holding
   * one swapfile and spilling to the other, with reconciles pending on both,
   * waited forever).
   */
  tryBeginWrite(): boolean {
    if (this.reconcileGate || !this.writable) return false;
    this.writesInFlight++;
    return true;
  }

  endWrite(): void {
    this.writesInFlight--;
    if (this.writesInFlight === 0 && this.drained) this.drained();
  }

  /** Runs fn with new writes held back and writes in flight finished. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.reconcileGate) await this.reconcileGate;
    let open!: () => void;
    this.reconcileGate = new Promise<void>((r) => (open = r));
    try {
      if (this.writesInFlight > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.reconcileGate = undefined;
      open();
    }
  }
}

export interface BackendRegistryOptions {
  specs: BackendSpec[];
  log: Logger;
  /** Deadline of each backend call; default 5000 ms. */
  deadlineMs?: number;
  /** Info polling period; default 500 ms. */
  pollMs?: number;
  /** Makes each backend's calls; default a gRPC client (connectGrpc). */
  connect?: ConnectBackend;
  /** Called after a poll with each reachable backend whose epoch is not reconciled. */
  onNeedsReconcile?: (b: AttachedBackend) => void;
  /** Called after each poll of a zswap backend over its accept threshold. */
  onZswapOverThreshold?: (b: AttachedBackend) => void;
}

export class BackendRegistry {
  readonly all: AttachedBackend[];
  private readonly byName = new Map<string, AttachedBackend>();
  private readonly byId: (AttachedBackend | undefined)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private rr = 0;
  constructor(private readonly options: BackendRegistryOptions) {
    const connect = options.connect ?? connectGrpc;
    const deadlineMs = options.deadlineMs ?? 5000;
    this.all = options.specs.map((s, i) => new AttachedBackend(i + 1, s, connect(s, { deadlineMs })));
    for (const b of this.all) {
      this.byName.set(b.name, b);
      this.byId[b.id] = b;
    }
  }

  get(name: string): AttachedBackend | undefined {
    return this.byName.get(name);
  }

  byIdOf(id: number): AttachedBackend | undefined {
    return this.byId[id];
  }

  nameOf(id: number): string {
    return this.byId[id]?.name ?? '';
  }

  zswap(): AttachedBackend | undefined {
    return this.all.find((b) => b.kind === 'zswap');
  }

  /** Asks every backend for Info once. */
  async pollOnce(): Promise<void> {
    await Promise.all(
      this.all.map(async (b) => {
        try {
          const info = await b.client.info(Math.min(2000, this.options.deadlineMs ?? 5000));
          if (!b.reachable) this.options.log.info({ backend: b.name, epoch: info.epoch }, 'backend reachable');
          b.answered(info);
        } catch (err) {
          if (b.reachable) this.options.log.warn({ backend: b.name, err: String(err) }, 'backend unreachable');
          b.unreachable();
        }
        if (b.reachable && b.info && b.reconciledEpoch !== b.info.epoch) this.options.onNeedsReconcile?.(b);
        if (b.reachable && b.kind === 'zswap' && b.info?.overThreshold) this.options.onZswapOverThreshold?.(b);
      }),
    );
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      void this.pollOnce().finally(() => (this.polling = false));
    }, this.options.pollMs ?? 500);
    this.timer.unref();
  }

  /**
   * Swapfile backends that may take new pages, in the order to try them:
   * priority high to low; equal priorities take turns (round-robin).
   */
  swapfileOrder(exclude?: AttachedBackend): AttachedBackend[] {
    const candidates = this.all.filter((b) => b.kind === 'swapfile' && b.writable && b !== exclude);
    candidates.sort((a, b) => b.priority - a.priority || a.id - b.id);
    const out: AttachedBackend[] = [];
    const turn = this.rr++;
    for (let i = 0; i < candidates.length;) {
      let j = i;
      while (j < candidates.length && candidates[j]!.priority === candidates[i]!.priority) j++;
      const group = candidates.slice(i, j);
      const shift = turn % group.length;
      out.push(...group.slice(shift), ...group.slice(0, shift));
      i = j;
    }
    return out;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const b of this.all) b.client.close();
  }
}
