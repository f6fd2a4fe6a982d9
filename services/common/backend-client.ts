import * as grpc from '@grpc/grpc-js';
import type { BackendClient as RawBackendClient } from '../../proto/generated/vswap/v1/Backend';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { DeleteResponse__Output } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { InfoResponse__Output } from '../../proto/generated/vswap/v1/InfoResponse';
import type { BackendStatsResponse__Output } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestResponse__Output } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { ReconcileResponse__Output } from '../../proto/generated/vswap/v1/ReconcileResponse';
import { CHANNEL_OPTIONS, loadVswapProto } from './proto';
import { RECONCILE_CHUNK } from './limits';
import { type ClientTls, clientChannel } from './auth/tls-channel';
import { BackendLink, type LinkCallName, type LinkCallTypes } from './backend-link';

export interface BackendClientOptions {
  /** Deadline of each data call (Put/Get/Delete/Coldest); default 5000 ms. */
  deadlineMs?: number;
  /** TLS to the backend (CA, client certificate); default plaintext. */
  tls?: ClientTls;
  /** The cluster secret, sent as `authorization: Bearer <token>` on every call; default none. */
  token?: string;
  /**
   * Put, Get and Delete as messages on one Link stream (backend-link.ts), or
   * false: as a unary call each, as a stock gRPC client makes them (the
   * benchmarks' direct baseline). Default true; a backend without Link gets
   * unary calls either way.
   */
  link?: boolean;
}

export interface ReconcileResult {
  /** Handles the coordinator named that the backend no longer has. */
  missing: number[];
  /** Handles the backend held that nobody named, now deleted. */
  deleted: number;
  /** The epoch the backend reconciled in (absent when the backend does not say). */
  epoch?: string;
}

/**
 * The channel options of a backend link. A connection that stops carrying
 * bytes without closing (half-open: the path or the peer's host dropped it
 * without a FIN or RST) shows only as calls timing out, and grpc-js keeps
 * using it until a keepalive ping goes unanswered: at the project's 30 s
 * interval a backend stayed unreachable in the coordinator's view for 36 s
 * after the network healed (fault suite, net-reset, seed 2, on a loaded
 * machine). Backend calls are short and frequent (Info every poll), so ping
 * every 5 s while calls are active and give up after 5 s, as long as a data
 * call's default deadline: a stalled link is replaced within about 10 s.
 */
export const BACKEND_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...CHANNEL_OPTIONS,
  'grpc.keepalive_time_ms': 5_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

/** Promise wrapper over vswap.v1.Backend with a deadline on every call. */
export class BackendClient {
  private readonly raw: RawBackendClient;
  private readonly deadlineMs: number;
  /** Sent with every call (a copy each time); empty without a token. */
  private readonly metadata = new grpc.Metadata();
  /** Carries Put, Get and Delete unless the options said unary. */
  private readonly link: BackendLink | undefined;

  constructor(
    readonly address: string,
    options: BackendClientOptions = {},
  ) {
    const proto = loadVswapProto();
    const channel = clientChannel(address, options.tls, BACKEND_CHANNEL_OPTIONS);
    this.raw = new proto.vswap.v1.Backend(address, channel.credentials, channel.options);
    this.deadlineMs = options.deadlineMs ?? 5000;
    if (options.token !== undefined) this.metadata.set('authorization', `Bearer ${options.token}`);
    if (options.link ?? true) this.link = new BackendLink(() => this.raw.link(this.metadata.clone()));
  }

  private opts(deadlineMs = this.deadlineMs): grpc.CallOptions {
    return { deadline: Date.now() + deadlineMs };
  }

  private call<Req, Res>(
    fn: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown,
    req: Req,
    deadlineMs?: number,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn.call(
        this.raw,
        req,
        this.metadata.clone(),
        this.opts(deadlineMs),
        (err: grpc.ServiceError | null, res?: Res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  }

  /** A data call: on the link when there is one, else unary. */
  private data<K extends LinkCallName>(
    call: K,
    req: LinkCallTypes[K]['req'],
    unary: (req: LinkCallTypes[K]['req']) => Promise<LinkCallTypes[K]['res']>,
  ): Promise<LinkCallTypes[K]['res']> {
    return this.link ? this.link.request(call, req, this.deadlineMs, () => unary(req)) : unary(req);
  }

  /** `tags`: one opaque tag per page (or none); `epoch`: store only in this epoch (empty: any). */
  put(pages: Buffer[], options: { tags?: readonly number[]; epoch?: string } = {}): Promise<PutResponse__Output> {
    // The encoder only reads the tags: no copy of a page-sized array per call.
    const req = { pages, tags: (options.tags ?? []) as number[], epoch: options.epoch ?? '' };
    return this.data('put', req, (r) => this.call(this.raw.put, r));
  }
  get(handles: number[], touch = true, epoch = ''): Promise<GetResponse__Output> {
    return this.data('get', { handles, touch, epoch }, (r) => this.call(this.raw.get, r));
  }
  delete(handles: number[], reason: DeleteReason, ignoreMissing = false, epoch = ''): Promise<DeleteResponse__Output> {
    return this.data('delete', { handles, reason, ignoreMissing, epoch }, (r) => this.call(this.raw.delete, r));
  }
  info(deadlineMs?: number): Promise<InfoResponse__Output> {
    return this.call(this.raw.info, {}, deadlineMs);
  }
  stats(): Promise<BackendStatsResponse__Output> {
    return this.call(this.raw.stats, {});
  }
  coldest(maxEntries: number): Promise<ColdestResponse__Output> {
    return this.call(this.raw.coldest, { maxEntries });
  }

  /** Streams the live handles in chunks; see Reconcile in backend.proto. */
  reconcile(live: readonly number[], deadlineMs = 60_000): Promise<ReconcileResult> {
    return new Promise((resolve, reject) => {
      const call = this.raw.reconcile(this.metadata.clone(), this.opts(deadlineMs));
      const missing: number[] = [];
      let deleted = 0;
      let epoch = '';
      call.on('data', (msg: ReconcileResponse__Output) => {
        for (const h of msg.missing) missing.push(h);
        if (msg.done) {
          deleted = msg.deleted;
          epoch = msg.epoch;
        }
      });
      call.on('error', reject);
      call.on('end', () => resolve(epoch === '' ? { missing, deleted } : { missing, deleted, epoch }));
      const write = async (): Promise<void> => {
        // The last chunk (maybe empty) says the list is complete: only then may the backend delete.
        for (let i = 0; i === 0 || i < live.length; i += RECONCILE_CHUNK) {
          const ok = call.write({
            handles: live.slice(i, i + RECONCILE_CHUNK),
            last: i + RECONCILE_CHUNK >= live.length,
          });
          if (!ok) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      };
      write().catch(reject);
    });
  }

  close(): void {
    this.link?.close();
    this.raw.close();
  }
}
