/**
 * The answer page ring (answer-ring.ts) and the request log's answers with
 * pages kept in it, on real files: exact bytes back, or the answer forgotten
 * (the retry runs afresh), never other bytes. The real-process behaviour (kill
 * -9, a corrupted ring file) is in test/integration/coordinator/answer-ring.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { pageChecksum } from '../../../services/common/checksum';
import { AnswerRing, decodeRef, encodeRef } from '../../../services/coordinator/answer-ring';
import { startCoordinator } from '../../../services/coordinator/running-coordinator';
import { RequestLog, requestDigest } from '../../../services/coordinator/request-log';
import { virtualSwapService } from '../../../services/coordinator/virtual-swap-service';
import { invokeUnary as invoke } from '../../support/invoke-handler';
import { FakeBackend } from '../../support/fake-backend';

const log = pino({ level: 'silent' });
const PAGE = 4096;

/** A page distinct per seed (seed 0: the zero page), as the answers-inline fixture's. */
function page(seed: number, length = PAGE): Buffer {
  const b = Buffer.alloc(length);
  if (seed !== 0) for (let i = 0; i < length; i++) b[i] = (seed * 131 + i * 7 + (i >> 5)) & 0xff;
  return b;
}

/** Byte for byte, each page (lengths included). */
function expectSamePages(got: readonly Buffer[] | undefined, want: readonly Buffer[]): void {
  expect(got).toBeDefined();
  expect(got!.length).toBe(want.length);
  got!.forEach((p, i) => {
    expect(p.length, `page ${i} length`).toBe(want[i]!.length);
    expect(Buffer.compare(p, want[i]!), `page ${i} bytes`).toBe(0);
  });
}

const dirs: string[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-answer-ring-'));
  dirs.push(d);
  return d;
}

function openRing(file: string, size: number): AnswerRing {
  const ring = new AnswerRing({ file, size, fsync: 'always', log });
  closers.push(() => ring.close());
  return ring;
}

describe('AnswerRing', () => {
  it('gives back odd pages exactly: zero pages and empty pages take no room, other lengths are kept as they are', () => {
    const file = path.join(tmpDir(), 'answers.ring');
    const ring = openRing(file, 64 * 1024);
    expect(fs.statSync(file).size).toBe(64 * 1024);
    const pages = [page(1), page(0), Buffer.alloc(0), page(2, 100), page(0, 10), page(3)];
    const ref = ring.write(pages)!;
    // The all-zero 4096-byte page and the empty one are not written; a short page of zeros is (it is not a page).
    expect(ref.bytes).toBe(PAGE + 100 + 10 + PAGE);
    expect(ref.zero).toEqual([1]);
    expectSamePages(ring.read(ref), pages);
    const back = decodeRef(JSON.parse(JSON.stringify(encodeRef(ref))));
    expectSamePages(ring.read(back!), pages);
    // No pages at all.
    const none = ring.write([])!;
    expect(none.bytes).toBe(0);
    expect(ring.read(none)).toEqual([]);
  });

  it('takes the checksums it is given (no hashing) and checks them on the way back', () => {
    const ring = openRing(path.join(tmpDir(), 'answers.ring'), 16 * 1024);
    const pages = [page(4), page(5)];
    const ref = ring.write(
      pages,
      Uint32Array.from(pages, (p) => pageChecksum(p)),
    )!;
    expectSamePages(ring.read(ref), pages);
    // Checksums that do not match the bytes: the answer is lost, not returned.
    const wrong = ring.write(pages, Uint32Array.of(1, 2))!;
    expect(ring.read(wrong)).toBeUndefined();
  });

  it('wraps at the end of the file, and a region written over reads as gone, never as the newer bytes', () => {
    const file = path.join(tmpDir(), 'answers.ring');
    const ring = openRing(file, 3 * PAGE);
    const a = ring.write([page(1), page(2)])!;
    const b = ring.write([page(3)])!;
    // The ring is full: c goes to physical pages 0 and 1, over a.
    const c = ring.write([page(4), page(5)])!;
    expect(ring.read(a)).toBeUndefined();
    expect(ring.holds(a)).toBe(false);
    expectSamePages(ring.read(b), [page(3)]);
    expectSamePages(ring.read(c), [page(4), page(5)]);
    // A region across the physical end: half a page past it.
    const d = ring.write([page(6, PAGE / 2)])!;
    const e = ring.write([page(7), page(8)])!;
    expect((e.at % (3 * PAGE)) + e.bytes).toBeGreaterThan(3 * PAGE);
    expectSamePages(ring.read(e), [page(7), page(8)]);
    expect(ring.read(c)).toBeUndefined();
    expectSamePages(ring.read(d), [page(6, PAGE / 2)]);
    // More than the ring holds is not kept at all (and writes nothing).
    const head = ring.head;
    expect(ring.write([page(1), page(2), page(3), page(4)])).toBeUndefined();
    expect(ring.head).toBe(head);
    expectSamePages(ring.read(e), [page(7), page(8)]);
  });

  it('reads a region back after a restart, and a byte flipped in the file makes it gone', () => {
    const file = path.join(tmpDir(), 'answers.ring');
    const first = new AnswerRing({ file, size: 8 * PAGE, fsync: 'batch', log });
    const pages = [page(9), page(10)];
    const ref = encodeRef(first.write(pages)!);
    first.close();
    const second = openRing(file, 8 * PAGE);
    const back = decodeRef(ref)!;
    second.claim(back);
    expect(second.head).toBe(2 * PAGE);
    expectSamePages(second.read(back), pages);
    const fd = fs.openSync(file, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, PAGE + 17);
    one[0] = one[0]! ^ 0x40;
    fs.writeSync(fd, one, 0, 1, PAGE + 17);
    fs.closeSync(fd);
    expect(second.read(back)).toBeUndefined();
  });

  it('starts over when the file has another size (the bound changed): old regions fail their checks', () => {
    const file = path.join(tmpDir(), 'answers.ring');
    const first = new AnswerRing({ file, size: 4 * PAGE, fsync: 'never', log });
    const ref = encodeRef(first.write([page(11)])!);
    first.close();
    const second = openRing(file, 6 * PAGE);
    expect(fs.statSync(file).size).toBe(6 * PAGE);
    const back = decodeRef(ref)!;
    second.claim(back);
    expect(second.read(back)).toBeUndefined();
  });

  it('refuses references that do not add up', () => {
    const ok = encodeRef(openRing(path.join(tmpDir(), 'r'), PAGE * 4).write([page(1), page(0)])!);
    expect(decodeRef(ok)).toBeDefined();
    for (const bad of [
      null,
      'x',
      { ...ok, n: ok.n + 1 },
      { ...ok, at: -1 },
      { ...ok, crc: 'AAA' },
      { ...ok, len: [PAGE] },
      { ...ok, zero: [5] },
      { ...ok, zero: [1, 1] },
    ])
      expect(decodeRef(bad), JSON.stringify(bad)).toBeUndefined();
  });
});

describe('RequestLog with the answer page ring', () => {
  const KEY = (id: string, slots: number[]) => ({
    method: 'Load' as const,
    owner: 'o',
    requestId: id,
    digest: requestDigest('Load', ['o', slots, true]),
  });

  function setup(dir: string, maxPageBytes: number, clock: { now: number }) {
    const file = path.join(dir, 'requests.log');
    let applied = 0;
    const open = (): RequestLog => {
      const l = new RequestLog({ file, fsync: 'always', maxPageBytes, now: () => clock.now, log });
      closers.push(() => l.close());
      return l;
    };
    /** A Load with release of `slots` whose pages are `pages` (the first time), counting its applications. */
    const load = (l: RequestLog, id: string, slots: number[], pages: Buffer[]) =>
      l.run<{ pages: Buffer[]; counts: number[] }>(
        KEY(id, slots),
        undefined,
        async (answer) => {
          applied++;
          const sums = Uint32Array.from(pages, (p) => pageChecksum(p));
          await answer!.keepPages(pages, sums);
          const result = { pages, counts: slots.map(() => 0) };
          answer!.record(result);
          return result;
        },
        (v) => v.counts.length,
      );
    return { open, load, applied: () => applied, ring: path.join(dir, 'answers.ring'), file };
  }

  it('a ring file that cannot be opened does not stop the coordinator: pages are kept in memory, for this process only', async () => {
    const dir = tmpDir();
    const ringFile = path.join(dir, 'answers.ring');
    fs.mkdirSync(ringFile); // a directory where the file should be
    const l = new RequestLog({ file: path.join(dir, 'requests.log'), ringFile, now: () => 6_000_000, log });
    closers.push(() => l.close());
    let applied = 0;
    const pages = [page(71), page(72)];
    const load = () =>
      l.run<{ pages: Buffer[]; counts: number[] }>(
        KEY('m', [1, 2]),
        undefined,
        async (answer) => {
          applied++;
          await answer!.keepPages(
            pages,
            Uint32Array.from(pages, (p) => pageChecksum(p)),
          );
          return { pages, counts: [0, 0] };
        },
        (v) => v.counts.length,
      );
    await load();
    expectSamePages((await load()).pages, pages);
    expect(applied).toBe(1);
  });

  it('keeps no pages in requests.log: a reference, and the pages back from the ring after a restart', async () => {
    const dir = tmpDir();
    const clock = { now: 1_000_000 };
    const t = setup(dir, 16 * PAGE, clock);
    const pages = [page(1), page(0), page(2, 300), Buffer.alloc(0)];
    const first = t.open();
    expectSamePages((await t.load(first, 'a', [1, 2, 3, 4], pages)).pages, pages);
    const line = fs.readFileSync(t.file, 'utf8');
    expect(line.length).toBeLessThan(1024);
    expect(line).toContain('"ring":');
    first.close();
    const second = t.open();
    expect(second.stats.pageBytes).toBe(PAGE + 300);
    expectSamePages((await t.load(second, 'a', [1, 2, 3, 4], [page(99)])).pages, pages);
    expect(t.applied()).toBe(1);
  });

  it('a ring that wraps forgets the oldest answers: their retries run afresh, the others get their own bytes', async () => {
    const dir = tmpDir();
    const clock = { now: 2_000_000 };
    const t = setup(dir, 5 * PAGE, clock);
    const l = t.open();
    const want = new Map<string, Buffer[]>();
    const slotsOf = (id: string) => [id.charCodeAt(0), id.charCodeAt(0) + 1];
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) {
      const pages = [page(10 + 2 * i), page(11 + 2 * i)];
      want.set(id, pages);
      await t.load(l, id, slotsOf(id), pages);
      clock.now += 1;
    }
    // 5 pages of ring, 2 pages an answer: a and b were written over by c and d.
    expect(l.stats.pageBytes).toBe(4 * PAGE);
    expect(l.stats.evictedEarly).toBe(2);
    for (const id of ['c', 'd']) expectSamePages((await t.load(l, id, slotsOf(id), [page(77)])).pages, want.get(id)!);
    expect(t.applied()).toBe(4);
    // a is applied again: its (new) pages, not anyone else's.
    expectSamePages((await t.load(l, 'a', slotsOf('a'), [page(50), page(51)])).pages, [page(50), page(51)]);
    expect(t.applied()).toBe(5);
    l.close();
    // After a restart: the same answers, the same bytes (c was written over by the second a).
    const again = t.open();
    expectSamePages((await t.load(again, 'd', slotsOf('d'), [page(77)])).pages, want.get('d')!);
    expectSamePages((await t.load(again, 'a', slotsOf('a'), [page(77)])).pages, [page(50), page(51)]);
    expect(t.applied()).toBe(5);
    await t.load(again, 'c', slotsOf('c'), [page(60), page(61)]);
    expect(t.applied()).toBe(6);
  });

  it('an answer whose pages fail their checks after a restart (a byte flipped in the ring) is forgotten, not returned', async () => {
    const dir = tmpDir();
    const clock = { now: 3_000_000 };
    const t = setup(dir, 8 * PAGE, clock);
    const first = t.open();
    const pages = [page(21), page(22)];
    await t.load(first, 'x', [5, 6], pages);
    await t.load(first, 'y', [7], [page(23)]);
    first.close();
    const ring = fs.readFileSync(t.ring);
    const at = ring.indexOf(page(22));
    expect(at).toBeGreaterThanOrEqual(0);
    const fd = fs.openSync(t.ring, 'r+');
    fs.writeSync(fd, Buffer.from([ring[at + 100]! ^ 1]), 0, 1, at + 100);
    fs.closeSync(fd);
    const second = t.open();
    const fresh = [page(31), page(32)];
    expectSamePages((await t.load(second, 'x', [5, 6], fresh)).pages, fresh);
    expect(t.applied()).toBe(3);
    expect(second.stats.evictedEarly).toBe(1);
    // The untouched answer still comes back.
    expectSamePages((await t.load(second, 'y', [7], [page(1)])).pages, [page(23)]);
    expect(t.applied()).toBe(3);
  });

  it('an answer with more page bytes than the ring holds is not kept: a retry waiting for it gets it, a later one runs afresh', async () => {
    const clock = { now: 4_000_000 };
    const t = setup(tmpDir(), 2 * PAGE, clock);
    const l = t.open();
    const big = [page(41), page(42), page(43)];
    const [first, waiting] = await Promise.all([
      t.load(l, 'big', [1, 2, 3], big),
      t.load(l, 'big', [1, 2, 3], [page(1)]),
    ]);
    expectSamePages(first.pages, big);
    expectSamePages(waiting.pages, big);
    expect(t.applied()).toBe(1);
    expect(l.stats.entries).toBe(0);
    await t.load(l, 'big', [1, 2, 3], big);
    expect(t.applied()).toBe(2);
    expect(fs.readFileSync(t.file, 'utf8')).toBe('');
  });
});

/** One coordinator process's worth over `dir`: coordinator, request log, VirtualSwap handlers. */
async function startProcess(dir: string, zswap: FakeBackend, now: () => number) {
  const c = await startCoordinator({
    dataDir: dir,
    backends: [{ name: 'zswap', address: 'fake:zswap', priority: 0 }],
    pollMs: 3_600_000,
    log,
    connect: () => zswap,
  });
  const requests = new RequestLog({
    file: path.join(dir, 'requests.log'),
    replayed: c.takeReplayedAnswers(),
    now,
    log,
  });
  c.keepAnswers(() => requests.unpersisted());
  let closed = false;
  const stop = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await c.close();
    requests.close();
  };
  closers.push(stop);
  const handlers = virtualSwapService(c, log, requests) as unknown as Record<string, unknown>;
  return {
    c,
    requests,
    stop,
    load: (req: object) => invoke<{ pages: Buffer[]; counts: number[] }>(handlers.Load, req),
  };
}

describe('Load answers through the coordinator', () => {
  it('zero pages and data pages round-trip across a restart; a page failing its checksum is DATA_LOSS, remembered, nothing freed', async () => {
    const dir = tmpDir();
    const zswap = new FakeBackend({ kind: 'zswap' });
    const now = () => 5_000_000;
    const first = await startProcess(dir, zswap, now);
    const pages = [page(0), page(61), page(0), page(62)];
    const { slots } = await first.c.coordinator.swapOut('app', pages, false);
    const req = { owner: 'app', slots, release: true, requestId: 'mixed' };
    expectSamePages((await first.load(req)).pages, pages);
    const bad = await first.c.coordinator.swapOut('app', [page(63), page(64)], false);
    const [handle] = [...zswap.entries.keys()].slice(-1);
    const stored = zswap.entries.get(handle!)!.page;
    stored[5] = stored[5]! ^ 1; // the backend hands back other bytes than were written
    const badReq = { owner: 'app', slots: bad.slots, release: true, requestId: 'bad' };
    await expect(first.load(badReq)).rejects.toMatchObject({ code: Status.DATA_LOSS });
    await first.stop();

    const second = await startProcess(dir, zswap, now);
    const again = await second.load(req);
    expect(again.counts).toEqual([0, 0, 0, 0]);
    expectSamePages(again.pages, pages);
    await expect(second.load(badReq)).rejects.toMatchObject({ code: Status.DATA_LOSS });
    expect(second.requests.stats.replayed).toBe(2);
    expect(second.c.reporting.inspect('app', bad.slots).map((s) => s.count)).toEqual([1, 1]);
  });
});

describe('answers written before the ring (pages inline)', () => {
  const FIXTURE = path.resolve(__dirname, '../../fixtures/answers-inline');
  interface Expected {
    lastAt: number;
    answers: { owner: string; requestId: string; slots: number[]; seeds: number[]; counts: number[] }[];
  }

  it('replay from requests.log and from journal answer records, move into the ring, and answer retries with the same bytes', async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
    const dir = tmpDir();
    for (const f of fs.readdirSync(FIXTURE))
      if (f !== 'expected.json') fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
    const zswap = new FakeBackend({ kind: 'zswap' });
    const start = () => startProcess(dir, zswap, () => expected.lastAt + 60_000);
    const check = async (life: Awaited<ReturnType<typeof start>>) => {
      for (const a of expected.answers) {
        const res = await life.load({ owner: a.owner, slots: a.slots, release: true, requestId: a.requestId });
        expect(res.counts).toEqual(a.counts);
        expectSamePages(
          res.pages,
          a.seeds.map((s) => page(s)),
        );
      }
    };
    const first = await start();
    expect(first.requests.stats.entries).toBeGreaterThanOrEqual(expected.answers.length);
    await check(first);
    // Moved into the ring: requests.log keeps references only now.
    expect(fs.readFileSync(path.join(dir, 'requests.log'), 'utf8')).not.toContain('"$b"');
    await first.stop();
    const second = await start();
    await check(second);
    expect(second.requests.stats.replayed).toBe(expected.answers.length);
  });
});
