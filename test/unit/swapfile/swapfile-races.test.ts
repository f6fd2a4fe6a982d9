/**
 * Races of the swapfile core pinned at an exact point: a PageStore whose
 * writes a test holds and releases (the seam; the real-process tests are in
 * test/integration/swapfile).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PageStore, SlotWords, StoreResult } from '../../../services/swapfile/page-store';
import { Swapfile } from '../../../services/swapfile/swapfile';

const log = pino({ level: 'silent' });
const OK: StoreResult<void> = { ok: true, value: undefined };

/** Pages in a Map by slot; write() waits while `hold` is set. */
class HeldStore implements PageStore {
  readonly kind = 'file';
  readonly epoch = 'e1';
  readonly volatile = false;
  readonly restoredWords = new Uint16Array(0);
  readonly fsyncs = 0;
  readonly pages = new Map<number, Buffer>();
  hold: Promise<void> | undefined;
  async write(slots: Int32Array, pages: readonly Buffer[], n: number, _words: SlotWords): Promise<StoreResult<void>> {
    for (let i = 0; i < n; i++) if (slots[i]! >= 0) this.pages.set(slots[i]!, pages[i]!);
    await this.hold;
    return OK;
  }
  read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>> {
    return Promise.resolve({ ok: true, value: Array.from(slots.subarray(0, n), (s) => this.pages.get(s) ?? null) });
  }
  release(slots: Int32Array, n: number): Promise<StoreResult<void>> {
    for (let i = 0; i < n; i++) this.pages.delete(slots[i]!);
    return Promise.resolve(OK);
  }
  check(): Promise<StoreResult<void>> {
    return Promise.resolve(OK);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const page = (b: number): Buffer => Buffer.alloc(4096, b);

describe('swapfile core races', () => {
  it('a Put in flight when a Reconcile begins keeps its page, though no chunk named it', async () => {
    const store = new HeldStore();
    const sw = new Swapfile(64, log);
    sw.attach(store);
    const orphan = await sw.put([page(1)], [], '');
    let release!: () => void;
    store.hold = new Promise((r) => (release = r));
    const inFlight = sw.put([page(2)], [], 'e1');
    const session = await sw.beginReconcile();
    expect(await session.check([])).toEqual([]);
    release();
    const put = await inFlight;
    expect(await session.finish()).toBe(1); // the orphan only
    expect((await sw.get(put.handles, 'e1'))[0]!.equals(page(2))).toBe(true);
    expect(sw.allocator.slotOfHandle(orphan.handles[0]!)).toBe(-1);
  });

  it('a page stored after a Reconcile began in the slot it had freed is not swept, and the stale handle named in a chunk protects nothing', async () => {
    const store = new HeldStore();
    const sw = new Swapfile(1, log); // one slot: reuse is certain
    sw.attach(store);
    const first = await sw.put([page(1)], [], '');
    const session = await sw.beginReconcile();
    await sw.delete(first.handles, false, '');
    const second = await sw.put([page(2)], [], '');
    expect(second.handles).not.toEqual(first.handles);
    // The coordinator's list still names the old handle: it is missing, not a reason to keep anything.
    expect(await session.check(first.handles)).toEqual(first.handles);
    expect(await session.finish()).toBe(0); // the new page was not there when the session began
    expect((await sw.get(second.handles, ''))[0]!.equals(page(2))).toBe(true);
  });

  it('an abandoned session (stream cancelled) deletes nothing', async () => {
    const sw = new Swapfile(64, log);
    sw.attach(new HeldStore());
    await sw.put([page(1), page(2)], [], '');
    const session = await sw.beginReconcile();
    session.abandon();
    expect(await session.finish()).toBe(0);
    expect(sw.allocator.used).toBe(2);
  });
});
