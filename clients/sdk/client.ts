/**
 * VswapClient: the typed client of vswap.v1.VirtualSwap, and the only way the
 * rest of the repo talks to a coordinator. It splits large calls into
 * 512-page requests, puts a deadline on every call, and retries only calls
 * that are safe to repeat (reads), never a mutation.
 */
import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { sharedEnv } from '../../services/common/config';
import { MAX_BATCH } from '../../services/common/limits';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../services/common/proto';
import type { VirtualSwapClient } from '../../proto/generated/vswap/v1/VirtualSwap';
import type { SlotInfo__Output } from '../../proto/generated/vswap/v1/SlotInfo';
import type { BackendInfo__Output } from '../../proto/generated/vswap/v1/BackendInfo';
import type { StatsResponse__Output } from '../../proto/generated/vswap/v1/StatsResponse';
import type { OwnerPolicy__Output } from '../../proto/generated/vswap/v1/OwnerPolicy';
import type { SwapoffProgress__Output } from '../../proto/generated/vswap/v1/SwapoffProgress';
import type { Tier__Output } from '../../proto/generated/vswap/v1/Tier';
import type { SwapOutResponse__Output } from '../../proto/generated/vswap/v1/SwapOutResponse';
import type { AllocateResponse__Output } from '../../proto/generated/vswap/v1/AllocateResponse';
import type { StoreResponse__Output } from '../../proto/generated/vswap/v1/StoreResponse';
import type { LoadResponse__Output } from '../../proto/generated/vswap/v1/LoadResponse';
import type { DuplicateResponse__Output } from '../../proto/generated/vswap/v1/DuplicateResponse';
import type { FreeResponse__Output } from '../../proto/generated/vswap/v1/FreeResponse';
import type { InspectResponse__Output } from '../../proto/generated/vswap/v1/InspectResponse';
import type { WritebackResponse__Output } from '../../proto/generated/vswap/v1/WritebackResponse';
import type { SwaponResponse__Output } from '../../proto/generated/vswap/v1/SwaponResponse';
import type { ListBackendsResponse__Output } from '../../proto/generated/vswap/v1/ListBackendsResponse';
import { VswapClientError } from './errors';

export type Tier = Tier__Output;
export type SlotInfo = SlotInfo__Output;
export type BackendInfo = BackendInfo__Output;
export type Stats = StatsResponse__Output;
export type OwnerPolicy = Omit<OwnerPolicy__Output, 'update'>;
export type SwapoffProgress = SwapoffProgress__Output;

export interface VswapClientOptions {
  /** host:port of the coordinator; default $VSWAP_ADDRESS or 127.0.0.1:50051. */
  address?: string;
  /** Deadline of each request, in ms; default 30000. */
  deadlineMs?: number;
  /** Extra attempts of a read that failed with UNAVAILABLE; default 3. */
  readRetries?: number;
}

/** A method of the generated client, called as (request, options, callback). */
type RawMethod = (...args: never[]) => unknown;

export class VswapClient {
  readonly address: string;
  private readonly raw: VirtualSwapClient;
  private readonly deadlineMs: number;
  private readonly readRetries: number;

  constructor(options: VswapClientOptions = {}) {
    this.address = options.address ?? sharedEnv().coordinatorAddress;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.readRetries = options.readRetries ?? 3;
    const proto = loadVswapProto();
    this.raw = new proto.vswap.v1.VirtualSwap(this.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  private unary<Res>(method: RawMethod, req: object, slots: readonly number[] = []): Promise<Res> {
    return new Promise((resolve, reject) => {
      (method as (...args: unknown[]) => unknown).call(this.raw, req, { deadline: Date.now() + this.deadlineMs }, (err: grpc.ServiceError | null, res?: Res) =>
        err ? reject(VswapClientError.from(err, slots)) : resolve(res as Res),
      );
    });
  }

  /** A read: retried with backoff while the coordinator is UNAVAILABLE. */
  private async read<Res>(method: RawMethod, req: object, slots: readonly number[] = []): Promise<Res> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.unary<Res>(method, req, slots);
      } catch (err) {
        if (!(err instanceof VswapClientError) || err.code !== Status.UNAVAILABLE || attempt >= this.readRetries) throw err;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  /**
   * Swaps pages out: one slot per page (swap count 1), in 512-page requests.
   * With `contiguous`, at most 512 pages (one naturally aligned run).
   * A failure in a later request leaves the earlier ones done: the error's
   * `slots` is empty and the pages already stored are returned by no one, so
   * callers that split should prefer batches of at most 512.
   */
  async swapOut(owner: string, pages: Buffer[], options: { contiguous?: boolean } = {}): Promise<{ slots: number[]; tiers: Tier[] }> {
    const contiguous = options.contiguous ?? false;
    if (contiguous && pages.length > MAX_BATCH) throw new VswapClientError(Status.INVALID_ARGUMENT, `a contiguous swap-out holds at most ${MAX_BATCH} pages`);
    const slots: number[] = [];
    const tiers: Tier[] = [];
    for (let i = 0; i < Math.max(pages.length, 1); i += MAX_BATCH) {
      const res = await this.unary<SwapOutResponse__Output>(this.raw.swapOut, { owner, pages: pages.slice(i, i + MAX_BATCH), contiguous });
      slots.push(...res.slots);
      tiers.push(...res.tiers);
    }
    return { slots, tiers };
  }

  /** Reserves slots with no data (TIER_EMPTY), swap count 1. */
  async allocate(owner: string, count: number, options: { contiguous?: boolean } = {}): Promise<number[]> {
    const contiguous = options.contiguous ?? false;
    const slots: number[] = [];
    let left = count;
    do {
      const n = contiguous ? left : Math.min(left, MAX_BATCH);
      const res = await this.unary<AllocateResponse__Output>(this.raw.allocate, { owner, count: n, contiguous });
      slots.push(...res.slots);
      left -= n;
    } while (left > 0);
    return slots;
  }

  /** Writes one page per slot. */
  async store(owner: string, slots: number[], pages: Buffer[]): Promise<Tier[]> {
    if (slots.length !== pages.length) throw new VswapClientError(Status.INVALID_ARGUMENT, `${slots.length} slots but ${pages.length} pages`, slots);
    return this.chunked(slots, async (chunk, at) => (await this.unary<StoreResponse__Output>(this.raw.store, { owner, slots: chunk, pages: pages.slice(at, at + chunk.length) }, chunk)).tiers);
  }

  /** Reads pages; with `release`, drops one reference per slot (not retried then). */
  async load(owner: string, slots: number[], options: { release?: boolean } = {}): Promise<Buffer[]> {
    const release = options.release ?? false;
    return this.chunked(slots, async (chunk) => {
      const req = { owner, slots: chunk, release };
      return (await (release ? this.unary<LoadResponse__Output>(this.raw.load, req, chunk) : this.read<LoadResponse__Output>(this.raw.load, req, chunk))).pages;
    });
  }

  /** swap_duplicate; returns the counts after. */
  duplicate(owner: string, slots: number[]): Promise<number[]> {
    return this.chunked(slots, async (chunk) => (await this.unary<DuplicateResponse__Output>(this.raw.duplicate, { owner, slots: chunk }, chunk)).counts);
  }

  /** swap_free; returns the counts after (0 = released). */
  free(owner: string, slots: number[]): Promise<number[]> {
    return this.chunked(slots, async (chunk) => (await this.unary<FreeResponse__Output>(this.raw.free, { owner, slots: chunk }, chunk)).counts);
  }

  inspect(owner: string, slots: number[]): Promise<SlotInfo[]> {
    return this.chunked(slots, async (chunk) => (await this.read<InspectResponse__Output>(this.raw.inspect, { owner, slots: chunk }, chunk)).slots);
  }

  async writeback(maxPages: number, owner = ''): Promise<number> {
    return (await this.unary<WritebackResponse__Output>(this.raw.writeback, { maxPages, owner })).written;
  }

  /** Streams swapoff progress; the last message has done = true. */
  async *swapoff(backend: string): AsyncGenerator<SwapoffProgress> {
    const call = this.raw.swapoff({ backend }, { deadline: Date.now() + Math.max(this.deadlineMs, 3_600_000) });
    try {
      for await (const msg of call as AsyncIterable<SwapoffProgress>) yield msg;
    } catch (err) {
      throw VswapClientError.from(err);
    } finally {
      call.cancel();
    }
  }

  async swapon(backend: string, priority: number): Promise<BackendInfo | null> {
    return (await this.unary<SwaponResponse__Output>(this.raw.swapon, { backend, priority })).backend;
  }

  async listBackends(): Promise<BackendInfo[]> {
    return (await this.read<ListBackendsResponse__Output>(this.raw.listBackends, {})).backends;
  }

  stats(owner = ''): Promise<Stats> {
    return this.read<Stats>(this.raw.stats, { owner });
  }

  async getOwnerPolicy(owner: string): Promise<OwnerPolicy> {
    return this.read<OwnerPolicy>(this.raw.setOwnerPolicy, { owner, update: false });
  }

  async setOwnerPolicy(owner: string, policy: Partial<Omit<OwnerPolicy, 'owner'>>): Promise<OwnerPolicy> {
    const current = await this.getOwnerPolicy(owner);
    return this.unary<OwnerPolicy>(this.raw.setOwnerPolicy, { ...current, ...policy, owner, update: true });
  }

  /** Resolves once the coordinator answers (or rejects after timeoutMs). */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(VswapClientError.from(err)) : resolve())));
  }

  close(): void {
    this.raw.close();
  }

  private async chunked<T>(slots: number[], fn: (chunk: number[], at: number) => Promise<T[]>): Promise<T[]> {
    if (slots.length <= MAX_BATCH) return fn(slots, 0);
    const out: T[] = [];
    for (let i = 0; i < slots.length; i += MAX_BATCH) out.push(...(await fn(slots.slice(i, i + MAX_BATCH), i)));
    return out;
  }
}
