/**
 * The server side of Backend.Link, shared by zswap and swapfile: Put, Get and
 * Delete multiplexed on one long-lived stream (see backend.proto). Each
 * request runs as its unary call would, concurrently with the others, and is
 * answered with the same response, or with the status the unary call would
 * have failed with (mapped by toServiceError: unknown errors stay generic).
 *
 * Bounds: the stream stops being read while LINK_MAX_IN_FLIGHT requests are
 * unanswered (HTTP/2 flow control then holds the sender back), and answers go
 * through StreamWriter, so a caller that stops reading ends its link instead
 * of pinning the requests' pages. Shutdown (close) answers what each link has
 * read, then ends it with OK; what arrives after that is not run.
 */
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { DeleteRequest__Output } from '../../proto/generated/vswap/v1/DeleteRequest';
import type { DeleteResponse } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { GetRequest__Output } from '../../proto/generated/vswap/v1/GetRequest';
import type { GetResponse } from '../../proto/generated/vswap/v1/GetResponse';
import type { LinkRequest__Output } from '../../proto/generated/vswap/v1/LinkRequest';
import type { LinkResponse } from '../../proto/generated/vswap/v1/LinkResponse';
import type { PutRequest__Output } from '../../proto/generated/vswap/v1/PutRequest';
import type { PutResponse } from '../../proto/generated/vswap/v1/PutResponse';
import { invalidArgument, toServiceError } from './errors';
import type { Logger } from './logger';
import type { LinkCallObserver } from './metrics-grpc';
import { StreamWriter } from './stream-writer';

/** Unanswered requests per link before the backend stops reading it. */
export const LINK_MAX_IN_FLIGHT = 64;

/** What a backend core does for each call a link carries: the same as its unary handlers. */
export interface LinkCalls {
  put(req: PutRequest__Output): Promise<PutResponse> | PutResponse;
  get(req: GetRequest__Output): Promise<GetResponse> | GetResponse;
  delete(req: DeleteRequest__Output): Promise<DeleteResponse> | DeleteResponse;
}

export interface LinkServerOptions {
  log: Logger;
  calls: LinkCalls;
  /** StreamWriter's drain bound; default its own. */
  drainTimeoutMs?: number;
  /** Counts and times each call (the gRPC metrics, grpc_type "link"); default none. */
  observe?: LinkCallObserver;
}

const METHODS = { put: 'Put', get: 'Get', delete: 'Delete' } as const;

type LinkCall = ServerDuplexStream<LinkRequest__Output, LinkResponse>;

export class LinkServer {
  /** One closer per open link: each answers what it has read, then ends the link. */
  private readonly open = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: LinkServerOptions) {}

  /** The grpc-js handler of Backend.Link. */
  readonly handler = (call: LinkCall): void => {
    const writer = new StreamWriter<LinkResponse>(call, { drainTimeoutMs: this.options.drainTimeoutMs });
    let inFlight = 0;
    /** No more requests are run: the caller half-closed, or the server is closing. */
    let draining = false;
    let ended = false;
    const endIfIdle = (): void => {
      if (!draining || inFlight > 0 || ended) return;
      ended = true;
      this.open.delete(close);
      if (!writer.cancelled) call.end();
    };
    const close = (): void => {
      draining = true;
      endIfIdle();
    };
    this.open.add(close);
    writer.signal.addEventListener('abort', () => {
      ended = true;
      this.open.delete(close);
    });
    if (this.closed) close();
    call.on('data', (req: LinkRequest__Output) => {
      if (draining || ended) return; // crossed the end: not run; the caller reports it UNAVAILABLE
      inFlight++;
      if (inFlight >= LINK_MAX_IN_FLIGHT) call.pause();
      this.answer(req)
        .then((res) => writer.write(res))
        .catch(() => {
          /* the reader is gone (the writer aborted): nobody to answer */
        })
        .finally(() => {
          inFlight--;
          if (inFlight === LINK_MAX_IN_FLIGHT - 1 && !ended) call.resume();
          endIfIdle();
        });
    });
    call.on('end', close);
  };

  /** Ends every open link once it has answered what it read; links opened later end at once. */
  close(): void {
    this.closed = true;
    for (const close of [...this.open]) close();
  }

  private async answer(req: LinkRequest__Output): Promise<LinkResponse> {
    const observe = this.options.observe;
    if (!observe) return this.run(req);
    const t0 = process.hrtime.bigint();
    const res = await this.run(req);
    const method = req.call ? METHODS[req.call] : 'none';
    observe(method, res.error ? (res.error.code as Status) : Status.OK, Number(process.hrtime.bigint() - t0) / 1e9);
    return res;
  }

  private async run(req: LinkRequest__Output): Promise<LinkResponse> {
    const { calls, log } = this.options;
    const id = req.id;
    try {
      if (req.call === 'put' && req.put) return { id, put: await calls.put(req.put) };
      if (req.call === 'get' && req.get) return { id, get: await calls.get(req.get) };
      if (req.call === 'delete' && req.delete) return { id, delete: await calls.delete(req.delete) };
      throw invalidArgument(`Link request ${id} names no call: set one of put, get or delete`);
    } catch (err) {
      const status = toServiceError(err, log, `Link.${req.call ?? 'none'}`);
      return { id, error: { code: status.code ?? Status.UNKNOWN, message: status.details ?? 'internal error' } };
    }
  }
}
