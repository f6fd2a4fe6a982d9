/**
 * Defect 1 (issue 10): a Delete queued for a handle while the swapfile was
 * down must never remove the page a later Put stored in the same physical
 * slot. Handles carry the slot's generation; the generations are persisted by
 * both stores, so this holds across restarts of the service.
 */
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { RedisServer } from '../../support/redis';
import { expectStatus, randomPages, startSwapfile, tempDir, type Running } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const SLOT_SPACE = 2 ** 28;
const slotOf = (h: number): number => (h % SLOT_SPACE) - 1;

type Store = 'file' | 'redis';

/** Starts a swapfile over the same store every time (same path or same Redis). */
async function storeArgs(store: Store): Promise<string[]> {
  if (store === 'file') return ['--path', path.join(tempDir(), 'sw')];
  const redis = await RedisServer.start({ persistence: 'always' });
  cleanup.push(() => redis.stop());
  return ['--store', 'redis', '--redis-url', redis.url];
}

/** 64 slots: a freed slot is the only place a new page can go. */
async function start(args: string[]): Promise<Running> {
  const r = await startSwapfile([...args, '--capacity-pages', '64']);
  cleanup.push(() => r.stop('SIGKILL'));
  return r;
}

describe.each<Store>(['file', 'redis'])(
  'swapfile handles are never reused while a request naming them may come (%s store)',
  (store) => {
    it('a Delete queued before a restart, retried after reconcile freed its slot and a new Put took it, deletes nothing', async () => {
      const args = await storeArgs(store);
      let sw = await start(args);
      const a = randomPages(64);
      const putA = await sw.client.put(a);
      const epoch = putA.epoch;
      expect(epoch).toBe((await sw.client.info()).epoch);

      // The coordinator frees A while the swapfile is down: its Delete is queued.
      await sw.stop('SIGKILL');
      sw = await start(args);
      // Back up: reconcile (the coordinator no longer names A) deletes the orphans.
      const rec = await sw.client.reconcile([]);
      expect(rec).toMatchObject({ missing: [], deleted: 64, epoch });
      // A new SwapOut is given the same physical slots...
      const b = randomPages(64);
      const putB = await sw.client.put(b);
      expect(putB.handles.map(slotOf).sort((x, y) => x - y)).toEqual(putA.handles.map(slotOf).sort((x, y) => x - y));
      // ...under handles no earlier page had.
      for (const h of putB.handles) expect(putA.handles).not.toContain(h);

      // The queued retry arrives (with ignore_missing): it names only stale handles.
      const retry = await sw.client.delete(putA.handles, 'DELETE_FREED', true);
      expect(retry.deleted).toBe(0);
      expect([...retry.missing].sort((x, y) => x - y)).toEqual([...putA.handles].sort((x, y) => x - y));
      // Without ignore_missing it is NOT_FOUND, saying why.
      await expectStatus(sw.client.delete([putA.handles[0]!], 'DELETE_FREED'), status.NOT_FOUND, /stale/);
      await expectStatus(sw.client.get([putA.handles[1]!]), status.NOT_FOUND, /stale/);
      // Every acknowledged page of B is intact.
      const got = await sw.client.get(putB.handles);
      got.pages.forEach((p, i) => expect(Buffer.compare(p, b[i]!)).toBe(0));
      expect((await sw.client.info()).usedPages).toBe(64);

      // The generations survive another restart: the old handles stay stale.
      await sw.stop('SIGKILL');
      sw = await start(args);
      expect((await sw.client.delete(putA.handles, 'DELETE_FREED', true)).deleted).toBe(0);
      const again = await sw.client.get(putB.handles);
      again.pages.forEach((p, i) => expect(Buffer.compare(p, b[i]!)).toBe(0));
      // A stale handle named in a Reconcile protects nothing and is reported missing.
      const rec2 = await sw.client.reconcile(putA.handles);
      expect(rec2.deleted).toBe(64);
      expect(rec2.missing.length).toBe(64);
      expect((await sw.client.info()).usedPages).toBe(0);
    });

    it('refuses Put, Get and Delete naming another epoch with FAILED_PRECONDITION, changing nothing', async () => {
      const args = await storeArgs(store);
      const sw = await start(args);
      const pages = randomPages(4);
      const put = await sw.client.put(pages, { epoch: (await sw.client.info()).epoch, tags: [1, 2, 3, 4] });
      await expectStatus(
        sw.client.put(randomPages(1), { epoch: 'not-this-one' }),
        status.FAILED_PRECONDITION,
        /epoch not-this-one.*epoch/,
      );
      await expectStatus(sw.client.get(put.handles, true, 'not-this-one'), status.FAILED_PRECONDITION, /not-this-one/);
      await expectStatus(
        sw.client.delete(put.handles, 'DELETE_FREED', true, 'not-this-one'),
        status.FAILED_PRECONDITION,
        /not-this-one/,
      );
      expect((await sw.client.info()).usedPages).toBe(4);
      const got = await sw.client.get(put.handles, true, put.epoch);
      got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
      // Tags: one per page or none.
      await expectStatus(sw.client.put(randomPages(2), { tags: [7] }), status.INVALID_ARGUMENT, /1 tags for 2 pages/);
      expect((await sw.client.info()).usedPages).toBe(4);
      expect((await sw.client.delete(put.handles, 'DELETE_FREED', false, put.epoch)).deleted).toBe(4);
    });
  },
);
