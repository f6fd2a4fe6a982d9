import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { counter, expectStatus, randomPages, startSwapfile, tempDir, type Running } from './helpers';

const running: Running[] = [];
async function start(args: string[]): Promise<Running> {
  const r = await startSwapfile(args);
  running.push(r);
  return r;
}
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop('SIGKILL');
});

/** Reads page `handle` straight from the swap file. */
function pageInFile(file: string, handle: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    fs.readSync(fd, buf, 0, 4096, (handle - 1) * 4096);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

describe('swapfile service, file store', () => {
  it('round-trips batches of 1 to 512 pages byte for byte, and the file holds each page at (handle-1)*4096', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'nested', 'swapfile');
    const { client } = await start(['--path', file, '--capacity-pages', '4096']);
    expect(fs.statSync(file).size).toBe(4096 * 4096);
    const all = new Map<number, Buffer>();
    for (const n of [1, 7, 64, 100, 512]) {
      const pages = randomPages(n);
      const put = await client.put(pages);
      expect(put.outcomes).toEqual(new Array(n).fill('PUT_STORED'));
      expect(put.storedSizes).toEqual(new Array(n).fill(4096));
      for (const h of put.handles) expect(h).toBeGreaterThan(0);
      put.handles.forEach((h, i) => all.set(h, pages[i]!));
      const got = await client.get(put.handles);
      expect(got.pages).toHaveLength(n);
      got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
    }
    expect(all.size).toBe(1 + 7 + 64 + 100 + 512);
    for (const [h, page] of all) expect(Buffer.compare(pageInFile(file, h), page)).toBe(0);
    // A batch read across all of them, in a shuffled order.
    const handles = [...all.keys()].sort(() => Math.random() - 0.5).slice(0, 512);
    const got = await client.get(handles);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, all.get(handles[i]!)!)).toBe(0));

    const info = await client.info();
    expect(info).toMatchObject({
      kind: 'swapfile',
      store: 'file',
      capacityPages: 4096,
      usedPages: all.size,
      storedBytes: all.size * 4096,
      maxBatch: 512,
      volatile: false,
    });
    expect(info.epoch).not.toBe('');
    const stats = await client.stats();
    expect(counter(stats, 'stored_pages')).toBe(all.size);
    expect(counter(stats, 'swpout')).toBe(all.size);
    expect(counter(stats, 'swpin')).toBe(all.size + 512);
    expect((await client.coldest(10)).entries).toEqual([]);
  });

  it('lays a batch of 512 in one contiguous run', async () => {
    const { client } = await start(['--path', path.join(tempDir(), 'sw'), '--capacity-pages', '2048']);
    const put = await client.put(randomPages(512));
    const first = put.handles[0]!;
    expect(put.handles).toEqual(Array.from({ length: 512 }, (_, i) => first + i));
  });

  it('stores what fits at the edge, then answers RESOURCE_EXHAUSTED, and every stored page stays readable', async () => {
    const { client } = await start(['--path', path.join(tempDir(), 'sw'), '--capacity-pages', '600']);
    const a = randomPages(512);
    const putA = await client.put(a);
    const b = randomPages(100);
    const putB = await client.put(b);
    const stored = putB.outcomes.filter((o) => o === 'PUT_STORED').length;
    expect(stored).toBe(88);
    expect(putB.outcomes.slice(88)).toEqual(new Array(12).fill('PUT_NO_SPACE'));
    expect(putB.handles.slice(88)).toEqual(new Array(12).fill(0));
    expect(putB.storedSizes.slice(88)).toEqual(new Array(12).fill(0));

    await expectStatus(
      client.put(randomPages(1)),
      status.RESOURCE_EXHAUSTED,
      'swap device full: 600 of 600 slots used',
    );
    const info = await client.info();
    expect(info.usedPages).toBe(600);
    const gotA = await client.get(putA.handles);
    gotA.pages.forEach((p, i) => expect(Buffer.compare(p, a[i]!)).toBe(0));
    const gotB = await client.get(putB.handles.slice(0, 88));
    gotB.pages.forEach((p, i) => expect(Buffer.compare(p, b[i]!)).toBe(0));
    const stats = await client.stats();
    expect(counter(stats, 'no_space')).toBe(13);
    expect(counter(stats, 'clusters_full')).toBe(2);

    // Freeing makes room again; the freed slots are reused, under new handles (next generation).
    const freed = putA.handles.slice(0, 3);
    expect((await client.delete(freed, 'DELETE_FREED')).deleted).toBe(3);
    const c = randomPages(5);
    const putC = await client.put(c);
    expect(putC.outcomes).toEqual(['PUT_STORED', 'PUT_STORED', 'PUT_STORED', 'PUT_NO_SPACE', 'PUT_NO_SPACE']);
    const slotOf = (h: number): number => (h % 2 ** 28) - 1;
    expect(
      putC.handles
        .slice(0, 3)
        .map(slotOf)
        .sort((x, y) => x - y),
    ).toEqual(freed.map(slotOf).sort((x, y) => x - y));
    for (const h of putC.handles.slice(0, 3)) expect(freed).not.toContain(h);
    await expectStatus(client.get([freed[0]!]), status.NOT_FOUND, /stale/);
    const gotC = await client.get(putC.handles.slice(0, 3));
    gotC.pages.forEach((p, i) => expect(Buffer.compare(p, c[i]!)).toBe(0));
  });

  it('deletes: freed handles are gone, unknown handles fail with NOT_FOUND and free nothing, ignore_missing lists them', async () => {
    const { client } = await start(['--path', path.join(tempDir(), 'sw'), '--capacity-pages', '1024']);
    const pages = randomPages(10);
    const { handles } = await client.put(pages);
    const res = await client.delete(handles.slice(0, 4), 'DELETE_FREED');
    expect(res).toMatchObject({ deleted: 4, missing: [] });
    await expectStatus(client.get([handles[0]!]), status.NOT_FOUND, String(handles[0]));
    expect((await client.info()).usedPages).toBe(6);

    // One deleted handle among live ones: NOT_FOUND naming it, nothing freed.
    await expectStatus(
      client.delete([handles[5]!, handles[1]!, handles[6]!], 'DELETE_FREED'),
      status.NOT_FOUND,
      String(handles[1]),
    );
    expect((await client.info()).usedPages).toBe(6);
    const still = await client.get(handles.slice(4));
    still.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i + 4]!)).toBe(0));

    const retry = await client.delete([handles[5]!, handles[1]!], 'DELETE_FREED', true);
    expect(retry).toMatchObject({ deleted: 1, missing: [handles[1]] });
    expect(counter(await client.stats(), 'deleted_pages')).toBe(5);
  });

  it('refuses bad input with its status code and changes nothing', async () => {
    const { client } = await start(['--path', path.join(tempDir(), 'sw'), '--capacity-pages', '1024']);
    const pages = randomPages(3);
    const { handles } = await client.put(pages);
    const before = { info: await client.info(), stats: await client.stats() };
    const h = handles[0]!;

    await expectStatus(client.put([Buffer.alloc(4095, 1)]), status.INVALID_ARGUMENT, '4095 bytes');
    await expectStatus(client.put([randomPages(1)[0]!, Buffer.alloc(4097, 1)]), status.INVALID_ARGUMENT, 'page 1');
    await expectStatus(client.put([]), status.INVALID_ARGUMENT);
    await expectStatus(client.put(randomPages(513)), status.INVALID_ARGUMENT, '513');
    await expectStatus(client.get([]), status.INVALID_ARGUMENT);
    await expectStatus(client.get([h, h]), status.INVALID_ARGUMENT, 'twice');
    await expectStatus(client.get(Array.from({ length: 513 }, (_, i) => i + 1)), status.INVALID_ARGUMENT, '513');
    await expectStatus(client.get([0]), status.NOT_FOUND, 'handle 0');
    await expectStatus(client.get([h, 1025]), status.NOT_FOUND, 'handle 1025');
    await expectStatus(client.get([h, 999]), status.NOT_FOUND, 'handle 999');
    await expectStatus(client.delete([], 'DELETE_FREED'), status.INVALID_ARGUMENT);
    await expectStatus(client.delete([h, h], 'DELETE_FREED'), status.INVALID_ARGUMENT, 'twice');
    await expectStatus(client.delete([h, 0], 'DELETE_FREED'), status.NOT_FOUND, 'handle 0');
    await expectStatus(client.delete([h, 5000], 'DELETE_FREED'), status.NOT_FOUND, 'handle 5000');

    const after = { info: await client.info(), stats: await client.stats() };
    expect(after.info).toEqual(before.info);
    for (const name of ['stored_pages', 'swpout', 'swpin', 'deleted_pages', 'no_space'])
      expect(counter(after.stats, name)).toBe(counter(before.stats, name));
    const got = await client.get(handles);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
  });

  it('keeps data, allocation and epoch across a restart, and Reconcile frees the handles nobody named', async () => {
    const file = path.join(tempDir(), 'sw');
    const first = await start(['--path', file, '--capacity-pages', '2048']);
    const pages = randomPages(300);
    const { handles } = await first.client.put(pages);
    const epoch = (await first.client.info()).epoch;
    await first.stop('SIGTERM');

    const second = await start(['--path', file, '--capacity-pages', '2048']);
    const info = await second.client.info();
    expect(info.epoch).toBe(epoch);
    expect(info.usedPages).toBe(300);
    const got = await second.client.get(handles);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));

    // The coordinator still references the first 200, plus two handles this device never had.
    const named = [...handles.slice(0, 200), 1500, 1501];
    const rec = await second.client.reconcile(named);
    expect(rec.missing.sort((x, y) => x - y)).toEqual([1500, 1501]);
    expect(rec.deleted).toBe(100);
    expect((await second.client.info()).usedPages).toBe(200);
    await expectStatus(second.client.get([handles[250]!]), status.NOT_FOUND);
    const kept = await second.client.get(handles.slice(0, 200));
    kept.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
  });

  it('survives kill -9: data and allocation are on disk once a Put is answered', async () => {
    const file = path.join(tempDir(), 'sw');
    const first = await start(['--path', file, '--capacity-pages', '1024', '--fsync', 'never']);
    const pages = randomPages(64);
    const { handles } = await first.client.put(pages);
    await first.client.delete(handles.slice(0, 2), 'DELETE_FREED');
    const epoch = (await first.client.info()).epoch;
    await first.stop('SIGKILL');

    const second = await start(['--path', file, '--capacity-pages', '1024']);
    expect(await second.client.info()).toMatchObject({ epoch, usedPages: 62 });
    const got = await second.client.get(handles.slice(2));
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i + 2]!)).toBe(0));
    // New pages never land on live slots.
    const more = await second.client.put(randomPages(100));
    for (const h of more.handles) expect(handles.slice(2)).not.toContain(h);
  });

  it('starts a new epoch when the swap file was recreated', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'sw');
    const first = await start(['--path', file, '--capacity-pages', '1024']);
    await first.client.put(randomPages(4));
    const epoch = (await first.client.info()).epoch;
    await first.stop();
    fs.rmSync(file);
    const second = await start(['--path', file, '--capacity-pages', '1024']);
    const info = await second.client.info();
    expect(info.epoch).not.toBe(epoch);
    expect(info.usedPages).toBe(0);
    const rec = await second.client.reconcile([1, 2, 3, 4]);
    expect(rec).toMatchObject({ missing: [1, 2, 3, 4], deleted: 0, epoch: info.epoch });
  });

  it('fsync=always syncs before answering a Put', async () => {
    const { client } = await start([
      '--path',
      path.join(tempDir(), 'sw'),
      '--capacity-pages',
      '1024',
      '--fsync',
      'always',
    ]);
    await client.put(randomPages(8));
    await client.put(randomPages(8));
    expect(counter(await client.stats(), 'fsyncs')).toBeGreaterThanOrEqual(2);
  });
});
