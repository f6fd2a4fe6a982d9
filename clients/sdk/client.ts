/**
 * VswapClient: the typed client of vswap.v1.VirtualSwap, and the only way the
 * rest of the repo talks to a coordinator. It splits large calls into
 * 512-page requests and puts a deadline on every call. Every mutating call
 * (SwapOut, Allocate, Store, Duplicate, Free, and Load with `release`)
 * carries a request_id (a UUID, or the caller's), so it is retried as safely
 * as a read: a call that failed with UNAVAILABLE or DEADLINE_EXCEEDED is sent
 * again with the same id, with bounded attempts and exponential backoff, and
 * the coordinator applies it once (API.md, Retries).
 */
import { createHash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { sharedEnv } from '../../services/common/config';
import { MAX_BATCH } from '../../services/common/limits';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../services/common/proto';
import { clientChannel } from '../../services/common/auth/tls-channel';
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
import { resolveClientCredentials, type ClientCredentialsOptions } from './client-credentials';

export type Tier = Tier__Output;
export type SlotInfo = SlotInfo__Output;
export type BackendInfo = BackendInfo__Output;
export type Stats = StatsResponse__Output;
export type OwnerPolicy = Omit<OwnerPolicy__Output, 'update'>;
export type SwapoffProgress = SwapoffProgress__Output;

/**
 * Where the coordinator is and what to present to it. The token and the CA
 * (ClientCredentialsOptions) default to $VSWAP_TOKEN / $VSWAP_CA, else the
 * files `npm start` writes (.vswap/admin.token, .vswap/tls/ca.pem) when they
 * are there; with a CA the channel is TLS, and the token goes with every call
 * as `authorization: Bearer <token>`.
 */
export interface VswapClientOptions extends ClientCredentialsOptions {
  /** host:port of the coordinator; default $VSWAP_ADDRESS or 127.0.0.1:50051. */
  address?: string;
  /** Deadline of each request, in ms; default 30000. */
  deadlineMs?: number;
  /** Extra attempts of a read that failed with UNAVAILABLE or DEADLINE_EXCEEDED; default 3. */
  readRetries?: number;
  /**
   * Extra attempts of a mutating call (same request_id) that failed with
   * UNAVAILABLE or DEADLINE_EXCEEDED; default 3. 0 sends each request once.
   */
  writeRetries?: number;
  /** Wait before the first retry, in ms; doubled each retry (with jitter); default 50. */
  retryBackoffMs?: number;
  /** Longest wait between two attempts, in ms; default 2000. */
  retryMaxBackoffMs?: number;
}

/** What a mutating call may be given. */
export interface MutationOptions {
  /**
   * The request_id (at most 64 characters); default a new UUID per call.
   * Repeating a whole call with the same requestId is safe: what the
   * coordinator already did is answered from its memory, not done again.
   * A call split into several requests sends `<id>.<n>` for request n (a
   * hash of it when that would be longer than 64 characters).
   */
  requestId?: string;
}

/** The contract's limit on request_id. */
export const MAX_REQUEST_ID_LENGTH = 64;

/** A fresh request_id. */
export function newRequestId(): string {
  return randomUUID();
}

/** The request_id of request `index` of a call split into several. */
export function chunkRequestId(base: string, index: number): string {
  const id = `${base}.${index}`;
  return id.length <= MAX_REQUEST_ID_LENGTH ? id : createHash('sha256').update(id).digest('base64url');
}

/** Codes after which the request may not have arrived, or its answer was lost. */
const RETRIED_CODES: ReadonlySet<number> = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]);

/**
 * The last attempt's error, saying what the first one was when that differs.
 * A retry waits for a connection, so where none can be made (a TLS client of
 * a plaintext server, a wrong port) the last error is only "Deadline
 * exceeded ... Waiting for LB pick"; the first attempt, which did not wait,
 * failed with why ("No connection established. Last error: ...").
 */
function withFirstAttempt(last: VswapClientError, first: VswapClientError, attempts: number): VswapClientError {
  if (first === last || first.message === last.message) return last;
  return new VswapClientError(
    last.code,
    `${last.message} (after ${attempts} attempts; the first: ${first.codeName}: ${first.message.trim()})`,
    last.slots,
  );
}

/** A method of the generated client, called as (request, options, callback). */
type RawMethod = (...args: never[]) => unknown;

export class VswapClient {
  readonly address: string;
  /** Whether the channel is TLS (a CA was given or found). */
  readonly tls: boolean;
  /** Where the CA came from ("option", "VSWAP_CA" or a file), undefined over plaintext; for messages. */
  readonly caSource: string | undefined;
  /** Where the token came from ("option", "VSWAP_TOKEN" or a file), undefined without one; never the token. */
  readonly tokenSource: string | undefined;
  private readonly raw: VirtualSwapClient;
  /** `authorization: Bearer <token>` when there is a token; copied into every call's metadata. */
  private readonly authorization: string | undefined;
  private readonly deadlineMs: number;
  private readonly readRetries: number;
  private readonly writeRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(options: VswapClientOptions = {}) {
    this.address = options.address ?? sharedEnv().coordinatorAddress;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.readRetries = options.readRetries ?? 3;
    this.writeRetries = options.writeRetries ?? 3;
    this.backoffMs = options.retryBackoffMs ?? 50;
    this.maxBackoffMs = options.retryMaxBackoffMs ?? 2000;
    const credentials = resolveClientCredentials(options);
    this.tls = credentials.caPem !== undefined;
    this.caSource = credentials.caSource;
    this.tokenSource = credentials.tokenSource;
    this.authorization = credentials.token === undefined ? undefined : `Bearer ${credentials.token}`;
    const proto = loadVswapProto();
    const channel = clientChannel(
      this.address,
      credentials.caPem === undefined ? undefined : { ca: credentials.caPem },
      CHANNEL_OPTIONS,
    );
    this.raw = new proto.vswap.v1.VirtualSwap(this.address, channel.credentials, channel.options);
  }

  /** A call's metadata: the authorization, when there is a token. */
  private metadata(options?: grpc.MetadataOptions): grpc.Metadata {
    const md = new grpc.Metadata(options);
    if (this.authorization) md.set('authorization', this.authorization);
    return md;
  }

  /**
   * One request; `waitForReady` waits (within the deadline) for a connection instead of failing at once without one.
   */
  private unary<Res>(
    method: RawMethod,
    req: object,
    slots: readonly number[] = [],
    waitForReady = false,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      (method as (...args: unknown[]) => unknown).call(
        this.raw,
        req,
        this.metadata({ waitForReady }),
        { deadline: Date.now() + this.deadlineMs },
        (err: grpc.ServiceError | null, res?: Res) =>
          err ? reject(VswapClientError.from(err, slots)) : resolve(res as Res),
      );
    });
  }

  /** Sends a request, again after UNAVAILABLE or DEADLINE_EXCEEDED, up to `retries` more times. */
  private async retried<Res>(retries: number, method: RawMethod, req: object, slots: readonly number[]): Promise<Res> {
    let first: VswapClientError | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        // A retry waits for the coordinator to be reachable again (within its
        // deadline) rather than failing at once while grpc-js backs off reconnecting.
        return await this.unary<Res>(method, req, slots, attempt > 0);
      } catch (err) {
        if (!(err instanceof VswapClientError) || !RETRIED_CODES.has(err.code)) throw err;
        first ??= err;
        if (attempt >= retries) throw withFirstAttempt(err, first, attempt + 1);
        // Exponential backoff with jitter, so clients cut off together do not come back together.
        const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
        await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
      }
    }
  }

  /** A read: idempotent, so retried. */
  private read<Res>(method: RawMethod, req: object, slots: readonly number[] = []): Promise<Res> {
    return this.retried(this.readRetries, method, req, slots);
  }

  /** A mutating request carrying its request_id: retried with the same id, applied once. */
  private write<Res>(
    method: RawMethod,
    req: { owner: string; requestId: string; [field: string]: unknown },
    slots: readonly number[] = [],
  ): Promise<Res> {
    return this.retried(this.writeRetries, method, req, slots);
  }

  /** The request_id of request `index` of `count` for a call. */
  private static idOf(base: string, index: number, count: number): string {
    return count === 1 ? base : chunkRequestId(base, index);
  }

  private static baseId(options: MutationOptions): string {
    const id = options.requestId ?? newRequestId();
    if (id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH)
      throw new VswapClientError(
        Status.INVALID_ARGUMENT,
        `requestId is ${id.length} characters: 1 to ${MAX_REQUEST_ID_LENGTH}`,
      );
    return id;
  }

  /**
   * Swaps pages out: one slot per page (swap count 1), in 512-page requests.
   * With `contiguous`, at most 512 pages (one naturally aligned run).
   * A failure in a later request leaves the earlier ones done: the error's
   * `slots` is empty; repeat the call with the same `requestId` to get every
   * slot (the requests already done are answered from the coordinator's
   * memory), or prefer batches of at most 512.
   */
  async swapOut(
    owner: string,
    pages: Buffer[],
    options: { contiguous?: boolean } & MutationOptions = {},
  ): Promise<{ slots: number[]; tiers: Tier[] }> {
    const contiguous = options.contiguous ?? false;
    if (contiguous && pages.length > MAX_BATCH)
      throw new VswapClientError(Status.INVALID_ARGUMENT, `a contiguous swap-out holds at most ${MAX_BATCH} pages`);
    const base = VswapClient.baseId(options);
    const count = Math.max(1, Math.ceil(pages.length / MAX_BATCH));
    const slots: number[] = [];
    const tiers: Tier[] = [];
    for (let i = 0; i < Math.max(pages.length, 1); i += MAX_BATCH) {
      const requestId = VswapClient.idOf(base, i / MAX_BATCH, count);
      const res = await this.write<SwapOutResponse__Output>(this.raw.swapOut, {
        owner,
        pages: pages.slice(i, i + MAX_BATCH),
        contiguous,
        requestId,
      });
      slots.push(...res.slots);
      tiers.push(...res.tiers);
    }
    return { slots, tiers };
  }

  /** Reserves slots with no data (TIER_EMPTY), swap count 1. */
  async allocate(
    owner: string,
    count: number,
    options: { contiguous?: boolean } & MutationOptions = {},
  ): Promise<number[]> {
    const contiguous = options.contiguous ?? false;
    const base = VswapClient.baseId(options);
    const requests = contiguous ? 1 : Math.max(1, Math.ceil(count / MAX_BATCH));
    const slots: number[] = [];
    let left = count;
    let index = 0;
    do {
      const n = contiguous ? left : Math.min(left, MAX_BATCH);
      const requestId = VswapClient.idOf(base, index++, requests);
      const res = await this.write<AllocateResponse__Output>(this.raw.allocate, {
        owner,
        count: n,
        contiguous,
        requestId,
      });
      slots.push(...res.slots);
      left -= n;
    } while (left > 0);
    return slots;
  }

  /** Writes one page per slot. */
  async store(owner: string, slots: number[], pages: Buffer[], options: MutationOptions = {}): Promise<Tier[]> {
    if (slots.length !== pages.length)
      throw new VswapClientError(Status.INVALID_ARGUMENT, `${slots.length} slots but ${pages.length} pages`, slots);
    const base = VswapClient.baseId(options);
    return this.chunked(
      slots,
      async (chunk, at, index, count) =>
        (
          await this.write<StoreResponse__Output>(
            this.raw.store,
            {
              owner,
              slots: chunk,
              pages: pages.slice(at, at + chunk.length),
              requestId: VswapClient.idOf(base, index, count),
            },
            chunk,
          )
        ).tiers,
    );
  }

  /**
   * Reads pages; with `release`, drops one reference per slot, under a
   * request_id (retried like any mutating call: a retry gets the first
   * call's pages, the references dropped once).
   */
  async load(owner: string, slots: number[], options: { release?: boolean } & MutationOptions = {}): Promise<Buffer[]> {
    const release = options.release ?? false;
    if (!release)
      return this.chunked(
        slots,
        async (chunk) =>
          (await this.read<LoadResponse__Output>(this.raw.load, { owner, slots: chunk, release }, chunk)).pages,
      );
    const base = VswapClient.baseId(options);
    return this.chunked(
      slots,
      async (chunk, _at, index, count) =>
        (
          await this.write<LoadResponse__Output>(
            this.raw.load,
            { owner, slots: chunk, release, requestId: VswapClient.idOf(base, index, count) },
            chunk,
          )
        ).pages,
    );
  }

  /** swap_duplicate; returns the counts after. */
  duplicate(owner: string, slots: number[], options: MutationOptions = {}): Promise<number[]> {
    const base = VswapClient.baseId(options);
    return this.chunked(
      slots,
      async (chunk, _at, index, count) =>
        (
          await this.write<DuplicateResponse__Output>(
            this.raw.duplicate,
            { owner, slots: chunk, requestId: VswapClient.idOf(base, index, count) },
            chunk,
          )
        ).counts,
    );
  }

  /** swap_free; returns the counts after (0 = released). */
  free(owner: string, slots: number[], options: MutationOptions = {}): Promise<number[]> {
    const base = VswapClient.baseId(options);
    return this.chunked(
      slots,
      async (chunk, _at, index, count) =>
        (
          await this.write<FreeResponse__Output>(
            this.raw.free,
            { owner, slots: chunk, requestId: VswapClient.idOf(base, index, count) },
            chunk,
          )
        ).counts,
    );
  }

  inspect(owner: string, slots: number[]): Promise<SlotInfo[]> {
    return this.chunked(
      slots,
      async (chunk) =>
        (await this.read<InspectResponse__Output>(this.raw.inspect, { owner, slots: chunk }, chunk)).slots,
    );
  }

  async writeback(maxPages: number, owner = ''): Promise<number> {
    return (await this.unary<WritebackResponse__Output>(this.raw.writeback, { maxPages, owner })).written;
  }

  /** Streams swapoff progress; the last message has done = true. */
  async *swapoff(backend: string): AsyncGenerator<SwapoffProgress> {
    const call = this.raw.swapoff({ backend }, this.metadata(), {
      deadline: Date.now() + Math.max(this.deadlineMs, 3_600_000),
    });
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
    return new Promise((resolve, reject) =>
      this.raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(VswapClientError.from(err)) : resolve())),
    );
  }

  close(): void {
    this.raw.close();
  }

  /** Runs fn over requests of at most 512 slots: (chunk, offset, request index, number of requests). */
  private async chunked<T>(
    slots: number[],
    fn: (chunk: number[], at: number, index: number, count: number) => Promise<T[]>,
  ): Promise<T[]> {
    if (slots.length <= MAX_BATCH) return fn(slots, 0, 0, 1);
    const count = Math.ceil(slots.length / MAX_BATCH);
    const out: T[] = [];
    for (let i = 0; i < slots.length; i += MAX_BATCH)
      out.push(...(await fn(slots.slice(i, i + MAX_BATCH), i, i / MAX_BATCH, count)));
    return out;
  }
}
