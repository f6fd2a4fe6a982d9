/**
 * The client side of Backend.Link: Put, Get and Delete as messages on one
 * long-lived stream instead of a unary call each. grpc-js spends about as
 * much CPU on a unary call as on tens of pages (measured: ~150 µs for the
 * caller and ~75 µs for the server per 4 KiB echo, against a few µs per
 * message on an open stream), and the coordinator makes several per SwapOut
 * and Load.
 *
 * A request behaves as its unary call would:
 * - it gets the same response, or fails with the same status;
 * - every wait is bounded: its own timer fails it with DEADLINE_EXCEEDED (a
 *   late answer is dropped; the request may still have taken effect, as a
 *   unary call past its deadline may);
 * - a link that fails or ends fails the requests sent on it at once
 *   (UNAVAILABLE for a lost connection or a backend shutting down; the
 *   stream's own status otherwise, e.g. UNAUTHENTICATED), and the next
 *   request opens a new link;
 * - a backend without Link (UNIMPLEMENTED, before it read anything) gets its
 *   requests again as unary calls, now and from then on;
 * - pages queue in this process only up to MAX_UNSENT_BYTES: past that (the
 *   backend stopped reading, and HTTP/2 flow control holds the rest here) a
 *   request fails UNAVAILABLE at once instead of queueing more. A unary call
 *   would queue its pages on its own stream until its deadline; a link keeps
 *   a request's bytes queued after its deadline, so it needs its own bound.
 */
import { status as Status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { DeleteRequest } from '../../proto/generated/vswap/v1/DeleteRequest';
import type { DeleteResponse__Output } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { GetRequest } from '../../proto/generated/vswap/v1/GetRequest';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { LinkRequest } from '../../proto/generated/vswap/v1/LinkRequest';
import type { LinkResponse__Output } from '../../proto/generated/vswap/v1/LinkResponse';
import type { PutRequest } from '../../proto/generated/vswap/v1/PutRequest';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import { statusError } from './errors';

/** The calls a link carries, with their requests and answers. */
export interface LinkCallTypes {
  put: { req: PutRequest; res: PutResponse__Output };
  get: { req: GetRequest; res: GetResponse__Output };
  delete: { req: DeleteRequest; res: DeleteResponse__Output };
}
export type LinkCallName = keyof LinkCallTypes;

export type LinkStream = ClientDuplexStream<LinkRequest, LinkResponse__Output>;

interface Pending {
  call: LinkCallName;
  resolve: (res: unknown) => void;
  reject: (err: ServiceError) => void;
  /** Runs the request as a unary call instead (a backend without Link). */
  unary: () => void;
  timer: NodeJS.Timeout;
}

/** One stream and the requests sent on it; a failed stream fails only its own. */
interface OpenLink {
  stream: LinkStream;
  pending: Map<number, Pending>;
  /** Page bytes written to the stream that grpc-js has not yet handed to HTTP/2. */
  unsentBytes: number;
}

/** Page bytes a link may hold unsent (16 full batches) before requests fail UNAVAILABLE. */
export const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

function pageBytes(pages: PutRequest['pages']): number {
  let n = 0;
  for (const p of pages ?? []) n += p.length;
  return n;
}

export class BackendLink {
  /** The stream new requests go on; undefined until the first request and after a stream ends. */
  private current: OpenLink | undefined;
  /** Ids are per link; they wrap at 2^32 long after any request with the same id is answered. */
  private nextId = 0;
  /** Set once the backend answered UNIMPLEMENTED: it has no Link, and every request goes unary. */
  private unsupported = false;
  private closed = false;

  /** `open` starts a Link call (with the client's metadata); the seam tests drive. */
  constructor(private readonly open: () => LinkStream) {}

  /** False once the backend said it has no Link (or after close): callers go unary. */
  get usable(): boolean {
    return !this.unsupported && !this.closed;
  }

  /**
   * Sends one request; `unary` runs it as a unary call instead, for a
   * backend without Link. Fails with DEADLINE_EXCEEDED after `deadlineMs`.
   */
  request<K extends LinkCallName>(
    call: K,
    req: LinkCallTypes[K]['req'],
    deadlineMs: number,
    unary: () => Promise<LinkCallTypes[K]['res']>,
  ): Promise<LinkCallTypes[K]['res']> {
    if (!this.usable) return unary();
    const link = (this.current ??= this.start());
    if (link.unsentBytes > MAX_UNSENT_BYTES)
      return Promise.reject(
        statusError(
          Status.UNAVAILABLE,
          `the backend is not reading its link: ${link.unsentBytes >> 20} MiB of pages wait to be sent`,
        ),
      );
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (link.pending.delete(id))
          reject(statusError(Status.DEADLINE_EXCEEDED, `Deadline exceeded after ${deadlineMs} ms on the backend link`));
      }, deadlineMs);
      timer.unref();
      link.pending.set(id, {
        call,
        resolve: resolve as (res: unknown) => void,
        reject,
        unary: () => {
          unary().then(resolve, reject);
        },
        timer,
      });
      const message: LinkRequest = { id, [call]: req };
      const bytes = call === 'put' ? pageBytes((req as PutRequest).pages) : 0;
      link.unsentBytes += bytes;
      link.stream.write(message, () => {
        link.unsentBytes -= bytes;
      });
    });
  }

  /**
   * Half-closes the link: the backend answers what it has, then ends it.
   * Requests still unanswered keep their timers; later requests go unary.
   */
  close(): void {
    this.closed = true;
    const link = this.current;
    this.current = undefined;
    if (!link) return;
    if (link.pending.size === 0) link.stream.cancel();
    else link.stream.end();
  }

  private start(): OpenLink {
    const link: OpenLink = { stream: this.open(), pending: new Map(), unsentBytes: 0 };
    let failure: ServiceError | undefined;
    link.stream.on('data', (msg: LinkResponse__Output) => this.answered(link, msg));
    // grpc-js reports the status ('error' first unless OK) before the answers
    // it already read have all been emitted: new requests stop going on this
    // link at once, but what it left unanswered fails only at 'end', after
    // every answer it carried.
    link.stream.on('error', (err: ServiceError) => {
      failure = err;
      this.retire(link);
    });
    link.stream.on('status', () => this.retire(link));
    link.stream.on('end', () => this.lost(link, failure));
    return link;
  }

  private answered(link: OpenLink, msg: LinkResponse__Output): void {
    const p = link.pending.get(msg.id);
    if (!p) return; // given up on (deadline): the answer is late
    link.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.result === 'error' && msg.error) p.reject(statusError(msg.error.code, msg.error.message));
    else if (msg.result === p.call && msg[p.call]) p.resolve(msg[p.call]);
    else p.reject(statusError(Status.INTERNAL, `the backend answered a ${p.call} with ${msg.result ?? 'nothing'}`));
    if (this.closed && link.pending.size === 0) link.stream.cancel();
  }

  /** New requests open a new link. */
  private retire(link: OpenLink): void {
    if (this.current === link) this.current = undefined;
  }

  /** The stream is over (err undefined: ended with OK); fails or re-routes what it left unanswered. */
  private lost(link: OpenLink, err: ServiceError | undefined): void {
    this.retire(link);
    if (link.pending.size === 0) return;
    const pending = [...link.pending.values()];
    link.pending.clear();
    if (err?.code === Status.UNIMPLEMENTED) {
      // Refused before any request was read: each runs once, as a unary call.
      this.unsupported = true;
      for (const p of pending) {
        clearTimeout(p.timer);
        p.unary();
      }
      return;
    }
    const failure =
      err === undefined
        ? statusError(Status.UNAVAILABLE, 'the backend ended the link (shutting down) before answering')
        : err.code === Status.CANCELLED || err.code === Status.INTERNAL
          ? statusError(Status.UNAVAILABLE, `the backend link failed: ${err.details}`)
          : statusError(err.code, `the backend link failed: ${err.details}`);
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(failure);
    }
  }
}
