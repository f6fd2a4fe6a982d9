/**
 * BackendLink's bookkeeping, driven through its `open` seam with a fake
 * stream that emits events in the orders grpc-js does (the status before the
 * last answers it read). The real-process twin is
 * test/integration/link/backend-link.test.ts.
 */
import { EventEmitter } from 'node:events';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BackendLink, MAX_UNSENT_BYTES, type LinkStream } from '../../../services/common/backend-link';
import { statusError } from '../../../services/common/errors';
import type { LinkRequest } from '../../../proto/generated/vswap/v1/LinkRequest';
import type { GetResponse__Output } from '../../../proto/generated/vswap/v1/GetResponse';

class FakeStream extends EventEmitter {
  readonly written: LinkRequest[] = [];
  /** Write callbacks not yet called: grpc-js has not handed those messages to HTTP/2. */
  readonly unsent: (() => void)[] = [];
  ended = false;
  cancelled = false;
  write(m: LinkRequest, cb: () => void): boolean {
    this.written.push(m);
    this.unsent.push(cb);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  /** The stream's status as grpc-js reports it: 'error' unless OK, then 'status', then 'end'. */
  finish(err?: ServiceError): void {
    if (err) this.emit('error', err);
    this.emit('status', { code: err?.code ?? Status.OK });
  }
  answerGet(id: number, pages: Buffer[]): void {
    this.emit('data', { id, result: 'get', get: { pages } });
  }
}

function harness(): { link: BackendLink; streams: FakeStream[] } {
  const streams: FakeStream[] = [];
  const link = new BackendLink(() => {
    const s = new FakeStream();
    streams.push(s);
    return s as unknown as LinkStream;
  });
  return { link, streams };
}

const noUnary = (): Promise<never> => Promise.reject(new Error('must not go unary'));
const page = Buffer.alloc(4096, 1);

async function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ServiceError }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as ServiceError }),
  );
}

describe('BackendLink', () => {
  it('delivers answers read before a failed stream ends, and fails only what it left unanswered', async () => {
    const { link, streams } = harness();
    const a = settled(link.request('get', { handles: [1] }, 60_000, noUnary));
    const b = settled(link.request('get', { handles: [2] }, 60_000, noUnary));
    const s = streams[0]!;
    expect(s.written.map((m) => m.id)).toEqual([1, 2]);
    // grpc-js: the status first, then the answers still buffered, then 'end'.
    s.finish(statusError(Status.UNAVAILABLE, 'read ECONNRESET'));
    s.answerGet(1, [page]);
    s.emit('end');
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.ok && (ra.value as GetResponse__Output).pages[0]).toEqual(page);
    expect(rb.ok).toBe(false);
    if (!rb.ok) {
      expect(rb.error.code).toBe(Status.UNAVAILABLE);
      expect(rb.error.details).toMatch(/the backend link failed: read ECONNRESET/);
    }
  });

  it('opens a new stream after one ends, and the old one cannot touch the new requests', async () => {
    const { link, streams } = harness();
    const first = settled(link.request('get', { handles: [1] }, 60_000, noUnary));
    streams[0]!.finish(statusError(Status.UNAVAILABLE, 'gone'));
    // A request made after the status goes on a new stream, even before the old one's 'end'.
    const second = settled(link.request('get', { handles: [2] }, 60_000, noUnary));
    expect(streams).toHaveLength(2);
    streams[0]!.emit('end');
    expect((await first).ok).toBe(false);
    // The old stream's late answer with the same id as the new request is nobody's.
    const newId = streams[1]!.written[0]!.id!;
    streams[0]!.answerGet(newId, [Buffer.alloc(4096, 9)]);
    streams[1]!.answerGet(newId, [page]);
    const r = await second;
    expect(r.ok && (r.value as GetResponse__Output).pages[0]).toEqual(page);
  });

  it('fails what a stream ended with OK left unanswered as UNAVAILABLE (the backend shut down)', async () => {
    const { link, streams } = harness();
    const p = settled(link.request('delete', { handles: [3] }, 60_000, noUnary));
    streams[0]!.finish();
    streams[0]!.emit('end');
    const r = await p;
    expect(!r.ok && r.error.code).toBe(Status.UNAVAILABLE);
    expect(!r.ok && r.error.details).toMatch(/ended the link \(shutting down\)/);
  });

  it('passes on a refusal of the stream itself (UNAUTHENTICATED) with its code', async () => {
    const { link, streams } = harness();
    const p = settled(link.request('put', { pages: [page] }, 60_000, noUnary));
    streams[0]!.finish(statusError(Status.UNAUTHENTICATED, 'no token'));
    streams[0]!.emit('end');
    const r = await p;
    expect(!r.ok && r.error.code).toBe(Status.UNAUTHENTICATED);
  });

  it('sends requests a backend without Link refused again as unary calls, once, and later ones straight away', async () => {
    const { link, streams } = harness();
    let unaryCalls = 0;
    const unary = (): Promise<GetResponse__Output> => {
      unaryCalls++;
      return Promise.resolve({ pages: [page] });
    };
    const p = link.request('get', { handles: [1] }, 60_000, unary);
    streams[0]!.finish(statusError(Status.UNIMPLEMENTED, 'unknown method Link'));
    streams[0]!.emit('end');
    expect((await p).pages[0]).toEqual(page);
    expect(unaryCalls).toBe(1);
    await link.request('get', { handles: [1] }, 60_000, unary);
    expect(unaryCalls).toBe(2);
    expect(streams).toHaveLength(1);
    expect(link.usable).toBe(false);
  });

  it('refuses an answer of the wrong kind, fails a wait at its deadline and drops the late answer', async () => {
    const { link, streams } = harness();
    const wrong = settled(link.request('put', { pages: [page] }, 60_000, noUnary));
    const s = streams[0]!;
    s.answerGet(1, [page]);
    const r = await wrong;
    expect(!r.ok && r.error.code).toBe(Status.INTERNAL);
    expect(!r.ok && r.error.details).toMatch(/answered a put with get/);

    const late = settled(link.request('get', { handles: [5] }, 20, noUnary));
    const t = await late;
    expect(!t.ok && t.error.code).toBe(Status.DEADLINE_EXCEEDED);
    s.answerGet(2, [page]); // nobody waits for it: no throw, no second settle
    const next = settled(link.request('get', { handles: [6] }, 60_000, noUnary));
    s.answerGet(3, [page]);
    expect((await next).ok).toBe(true);
  });

  it('half-closes on close while requests are unanswered, cancels once they are, and goes unary after', async () => {
    const { link, streams } = harness();
    const p = link.request('get', { handles: [1] }, 60_000, noUnary);
    link.close();
    const s = streams[0]!;
    expect(s.ended).toBe(true);
    expect(s.cancelled).toBe(false);
    s.answerGet(1, [page]);
    expect((await p).pages[0]).toEqual(page);
    expect(s.cancelled).toBe(true);
    let unary = 0;
    await link.request('get', { handles: [1] }, 60_000, () => {
      unary++;
      return Promise.resolve({ pages: [] });
    });
    expect(unary).toBe(1);
  });

  it('fails a request at once while the link holds more than MAX_UNSENT_BYTES of pages unsent, and goes on once they are sent', async () => {
    const { link, streams } = harness();
    const half = new Array<Buffer>(MAX_UNSENT_BYTES / 2 / page.length + 1).fill(page);
    const a = settled(link.request('put', { pages: half }, 60_000, noUnary));
    const b = settled(link.request('put', { pages: half }, 60_000, noUnary));
    const refused = await settled(link.request('put', { pages: [page] }, 60_000, noUnary));
    expect(!refused.ok && refused.error.code).toBe(Status.UNAVAILABLE);
    expect(!refused.ok && refused.error.details).toMatch(/not reading its link: 32 MiB of pages wait to be sent/);
    const s = streams[0]!;
    expect(s.written).toHaveLength(2); // the refused one was not queued
    for (const cb of s.unsent.splice(0)) cb();
    const c = settled(link.request('put', { pages: [page] }, 60_000, noUnary));
    expect(s.written).toHaveLength(3);
    for (const id of [1, 2, 3]) s.emit('data', { id, result: 'put', put: { handles: [id] } });
    expect((await a).ok && (await b).ok && (await c).ok).toBe(true);
  });
});
