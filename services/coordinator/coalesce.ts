/**
 * Puts and Gets that concurrent requests make to one backend in the same
 * event-loop turn go out as one backend call (up to MAX_BATCH pages), and
 * each caller gets its own part of the answer. With a few requests in flight
 * they arrive together, and a gRPC call costs about as much CPU as tens of
 * pages (on the coordinator and again on the backend, which share the
 * machine with the clients): so a turn's small SwapOuts cost one Put, its
 * small Loads one Get.
 *
 * Every caller sees what it would have seen alone: a Put is all or nothing
 * per page already (a handle of 0 is a page not stored), so a combined Put's
 * answer splits by position, and an error of the whole Put is each caller's
 * error (nothing was stored under a handle anyone learns). A Get fails as a
 * whole for one missing or damaged page, which must not become another
 * caller's error: a combined Get that fails for anything but the backend
 * being unreachable or in another epoch (the same for every part) is sent
 * again part by part. A call alone in its turn goes out unchanged.
 */
import { status as Status } from '@grpc/grpc-js';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import { isServiceError } from '../common/errors';
import { MAX_BATCH } from '../common/limits';
import type { BackendCalls, PutOptions } from './backend-view';

interface Waiter<Res> {
  resolve: (r: Res) => void;
  reject: (err: unknown) => void;
}

interface PutPart extends Waiter<PutResponse__Output> {
  pages: Buffer[];
  options: PutOptions;
}

interface GetPart extends Waiter<GetResponse__Output> {
  handles: number[];
}

interface Batch<P> {
  parts: P[];
  /** Pages (Put) or handles (Get) in all parts. */
  size: number;
  /** Sends it as one backend call. */
  send: (b: Batch<P>) => void;
}

/** Errors that are the same for every part of a combined Get: no point asking again part by part. */
function sharedByAllParts(err: unknown): boolean {
  return (
    isServiceError(err) &&
    (err.code === Status.UNAVAILABLE ||
      err.code === Status.DEADLINE_EXCEEDED ||
      err.code === Status.CANCELLED ||
      err.code === Status.FAILED_PRECONDITION)
  );
}

export class CoalescingCalls implements BackendCalls {
  /** Put batches of this turn, by what must be the same for the whole call (epoch, tagged or not). */
  private readonly puts = new Map<string, Batch<PutPart>>();
  /** Get batches of this turn, by epoch and touch. */
  private readonly gets = new Map<string, Batch<GetPart>>();
  private scheduled = false;

  constructor(private readonly inner: BackendCalls) {}

  put(pages: Buffer[], options: PutOptions = {}): Promise<PutResponse__Output> {
    // Tags not one per page: the backend refuses the call; it must refuse this caller's alone.
    if (pages.length === 0 || pages.length >= MAX_BATCH || (options.tags && options.tags.length !== pages.length))
      return this.inner.put(pages, options);
    const key = `${options.tags ? 't' : 'u'}:${options.epoch ?? ''}`;
    return new Promise((resolve, reject) => {
      const batch = this.join(this.puts, key, pages.length, (b) => this.sendPuts(b));
      batch.parts.push({ pages, options, resolve, reject });
      batch.size += pages.length;
    });
  }

  get(handles: number[], touch = true, epoch = ''): Promise<GetResponse__Output> {
    if (handles.length === 0 || handles.length >= MAX_BATCH) return this.inner.get(handles, touch, epoch);
    const key = `${touch ? 't' : 'u'}:${epoch}`;
    return new Promise((resolve, reject) => {
      const batch = this.join(this.gets, key, handles.length, (b) => this.sendGets(b, touch, epoch));
      batch.parts.push({ handles, resolve, reject });
      batch.size += handles.length;
    });
  }

  delete: BackendCalls['delete'] = (...args) => this.inner.delete(...args);
  info: BackendCalls['info'] = (...args) => this.inner.info(...args);
  stats: BackendCalls['stats'] = () => this.inner.stats();
  coldest: BackendCalls['coldest'] = (...args) => this.inner.coldest(...args);
  reconcile: BackendCalls['reconcile'] = (...args) => this.inner.reconcile(...args);

  close(): void {
    this.inner.close();
  }

  /** The batch of this turn under `key` with room for `size` more; a full one is sent now and a new one started. */
  private join<P>(batches: Map<string, Batch<P>>, key: string, size: number, send: (b: Batch<P>) => void): Batch<P> {
    let batch = batches.get(key);
    if (batch && batch.size + size > MAX_BATCH) {
      batches.delete(key);
      batch.send(batch);
      batch = undefined;
    }
    if (!batch) batches.set(key, (batch = { parts: [], size: 0, send }));
    if (!this.scheduled) {
      this.scheduled = true;
      // After the turn's I/O callbacks: the requests that arrived together have all asked by then.
      setImmediate(() => this.flush());
    }
    return batch;
  }

  private flush(): void {
    this.scheduled = false;
    const puts = [...this.puts.values()];
    const gets = [...this.gets.values()];
    this.puts.clear();
    this.gets.clear();
    for (const b of puts) b.send(b);
    for (const b of gets) b.send(b);
  }

  private sendPuts(b: Batch<PutPart>): void {
    const parts = b.parts;
    if (parts.length === 1) {
      const p = parts[0]!;
      void this.inner.put(p.pages, p.options).then(p.resolve, p.reject);
      return;
    }
    const pages: Buffer[] = [];
    const tags: number[] | undefined = parts[0]!.options.tags ? [] : undefined;
    for (const p of parts) {
      for (const page of p.pages) pages.push(page);
      if (tags) for (const t of p.options.tags!) tags.push(t);
    }
    const epoch = parts[0]!.options.epoch;
    const options: PutOptions = {};
    if (tags) options.tags = tags;
    if (epoch !== undefined) options.epoch = epoch;
    void this.inner.put(pages, options).then(
      (res) => {
        let at = 0;
        for (const p of parts) {
          const n = p.pages.length;
          p.resolve({
            handles: res.handles.slice(at, at + n),
            outcomes: res.outcomes.slice(at, at + n),
            storedSizes: res.storedSizes.slice(at, at + n),
            epoch: res.epoch,
          });
          at += n;
        }
      },
      (err: unknown) => {
        for (const p of parts) p.reject(err);
      },
    );
  }

  private sendGets(b: Batch<GetPart>, touch: boolean, epoch: string): void {
    const parts = b.parts;
    const alone = (p: GetPart): void => void this.inner.get(p.handles, touch, epoch).then(p.resolve, p.reject);
    if (parts.length === 1) return alone(parts[0]!);
    const handles: number[] = [];
    for (const p of parts) for (const h of p.handles) handles.push(h);
    void this.inner.get(handles, touch, epoch).then(
      (res) => {
        // An answer that does not name every page cannot be split by position: ask part by part.
        if (res.pages.length !== handles.length) return parts.forEach(alone);
        let at = 0;
        for (const p of parts) {
          p.resolve({ pages: res.pages.slice(at, at + p.handles.length) });
          at += p.handles.length;
        }
      },
      (err: unknown) => {
        if (sharedByAllParts(err)) for (const p of parts) p.reject(err);
        else parts.forEach(alone);
      },
    );
  }
}
