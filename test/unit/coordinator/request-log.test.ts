/**
 * The request log's bounds and window, on a fake clock (the gRPC behaviour is in
 * test/integration/coordinator/retry.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VswapError, invalidArgument } from '../../../services/common/errors';
import { pageChecksums } from '../../../services/common/checksum';
import { RequestLog, requestDigest } from '../../../services/coordinator/request-log';

function setup(opts: { windowMs?: number; maxEntries?: number; maxSlots?: number } = {}) {
  let now = 1_000_000;
  const log = new RequestLog({ ...opts, now: () => now, log: pino({ level: 'silent' }) });
  let applied = 0;
  const free = (id: string, slots: number[]) =>
    log.run(
      { method: 'Free', owner: 'o', requestId: id, digest: requestDigest('Free', ['o', slots]) },
      undefined,
      async () => {
        applied++;
        return slots.map(() => applied);
      },
      (v) => v.length,
    );
  return { log, free, applied: () => applied, tick: (ms: number) => (now += ms) };
}

describe('RequestLog', () => {
  it('answers a retry within the window from memory, and applies it again after the window', async () => {
    const t = setup({ windowMs: 60_000 });
    expect(await t.free('a', [1])).toEqual([1]);
    t.tick(59_000);
    expect(await t.free('a', [1])).toEqual([1]);
    expect(t.applied()).toBe(1);
    t.tick(2_000);
    expect(await t.free('a', [1])).toEqual([2]);
    expect(t.applied()).toBe(2);
  });

  it('keeps at most maxEntries answers and maxSlots slot ids, dropping the oldest first', async () => {
    const t = setup({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await t.free(id, [1]);
    expect(t.log.stats.entries).toBe(3);
    expect(t.log.stats.evictedEarly).toBe(1);
    await t.free('d', [1]);
    expect(t.applied()).toBe(4); // d remembered
    await t.free('a', [1]);
    expect(t.applied()).toBe(5); // a was evicted: applied again

    const s = setup({ maxSlots: 600 });
    await s.free(
      'x',
      Array.from({ length: 512 }, (_, i) => i + 1),
    );
    await s.free('y', [1, 2, 3]);
    expect(s.log.stats.slots).toBe(515);
    await s.free(
      'z',
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    expect(s.log.stats.slots).toBe(103);
    expect(s.log.stats.entries).toBe(2);
  });

  it('bounds the page bytes of Load answers, dropping the oldest answers that hold pages and keeping the others', async () => {
    let now = 1_000_000;
    const log = new RequestLog({ maxPageBytes: 3 * 4096, now: () => now, log: pino({ level: 'silent' }) });
    let applied = 0;
    const load = (id: string, slots: number[]) =>
      log.run(
        { method: 'Load', owner: 'o', requestId: id, digest: requestDigest('Load', ['o', slots, true]) },
        undefined,
        async () => {
          applied++;
          return { pages: slots.map((s) => Buffer.alloc(4096, s)), counts: slots.map(() => 0) };
        },
        (v) => v.counts.length,
      );
    const free = (id: string) =>
      log.run(
        { method: 'Free', owner: 'o', requestId: id, digest: requestDigest('Free', ['o', [9]]) },
        undefined,
        async () => [applied++],
        (v) => v.length,
      );
    await free('f0'); // older than every Load: must survive the page bound
    await load('l1', [1, 2]);
    now += 1;
    await load('l2', [3]);
    expect(log.stats.pageBytes).toBe(3 * 4096);
    await load('l3', [4]); // over: l1 (the oldest with pages) goes, f0 stays
    expect(log.stats.pageBytes).toBe(2 * 4096);
    expect(log.stats.entries).toBe(3);
    const before = applied;
    expect((await load('l2', [3])).pages[0]!.equals(Buffer.alloc(4096, 3))).toBe(true);
    await free('f0');
    expect(applied).toBe(before);
    await load('l1', [1, 2]);
    expect(applied).toBe(before + 1);
  });

  it('forgets errors that changed nothing and remembers the others', async () => {
    let now = 0;
    const log = new RequestLog({ now: () => ++now, log: pino({ level: 'silent' }) });
    const key = { method: 'Free' as const, owner: 'o', requestId: 'e', digest: 'd' };
    let calls = 0;
    await expect(
      log.run(
        key,
        undefined,
        () => Promise.reject(invalidArgument('bad')),
        () => 0,
      ),
    ).rejects.toThrow('bad');
    expect(
      await log.run(
        key,
        undefined,
        async () => ++calls,
        () => 1,
      ),
    ).toBe(1);
    const key2 = { ...key, requestId: 'f' };
    await expect(
      log.run(
        key2,
        undefined,
        () => Promise.reject(new Error('disk on fire')),
        () => 0,
      ),
    ).rejects.toThrow('disk on fire');
    const again = await log
      .run(
        key2,
        undefined,
        async () => ++calls,
        () => 1,
      )
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(VswapError);
    expect((again as VswapError).code).toBe(Status.UNKNOWN);
    expect(calls).toBe(1);
  });

  it('digests tell requests apart field by field', () => {
    expect(requestDigest('Free', ['o', [1, 2]])).toBe(requestDigest('Free', ['o', [1, 2]]));
    expect(requestDigest('Free', ['o', [1, 2]])).not.toBe(requestDigest('Free', ['o', [2, 1]]));
    expect(requestDigest('Free', ['o', [1]])).not.toBe(requestDigest('Duplicate', ['o', [1]]));
    expect(requestDigest('SwapOut', ['o', [Buffer.from('a')], false])).not.toBe(
      requestDigest('SwapOut', ['o', [Buffer.from('b')], false]),
    );
    expect(requestDigest('Allocate', ['o', 1, false])).not.toBe(requestDigest('Allocate', ['o', 1, true]));
  });

  it('digests pages by length and CRC-32: one flipped bit or byte more tells them apart, and never as an earlier build did', () => {
    const page = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
    const digest = (pages: Buffer[]) => requestDigest('SwapOut', ['o', pages, false]);
    const flipped = Buffer.from(page);
    flipped[1234] = flipped[1234]! ^ 0x10;
    expect(digest([page])).toBe(digest([Buffer.from(page)]));
    expect(digest([flipped])).not.toBe(digest([page]));
    expect(digest([Buffer.concat([page, Buffer.alloc(1)])])).not.toBe(digest([page]));
    expect(digest([page, flipped])).not.toBe(digest([flipped, page]));
    expect(requestDigest('SwapOut', ['o', [page], false], 'bytes')).not.toBe(digest([page]));
    // Without pages the two ways agree: only page-carrying requests need the earlier digest.
    expect(requestDigest('Free', ['o', [1, 2]], 'bytes')).toBe(requestDigest('Free', ['o', [1, 2]]));
  });

  it('digests are the ones earlier builds kept: a retry after a restart or an upgrade still matches its first call', () => {
    // Printed by the build before requestDigest hashed one buffer (field by field into a Hash): requests.log
    // and the journal's answer records hold digests made that way.
    const page = (n: number, fill: number) => Buffer.alloc(n, fill);
    const swapOut = ['owner-é', [page(4096, 1), page(4096, 0), page(100, 7)], true] as const;
    const store = ['o', [5, 6], [page(4096, 9), page(4096, 10)]] as const;
    const hex = (d: string) => Buffer.from(d, 'latin1').toString('hex');
    expect(hex(requestDigest('SwapOut', swapOut))).toBe(
      '8657d7f98fbe60c18c3849dddd73f9768cab0c2d61d2e150dd7684cf41898254',
    );
    expect(hex(requestDigest('SwapOut', swapOut, 'bytes'))).toBe(
      '09d07c5ce85396000a93f4fac2561f3a468e2e544fc7c093bd7a74ffccaae09b',
    );
    expect(hex(requestDigest('Store', store))).toBe('ed669170090cf1015afc3e513d63e860309b2a5c9c0aeccf6c71bc9bb0dda184');
    expect(hex(requestDigest('Store', store, 'bytes'))).toBe(
      'a5ea7103e5d722a252755ce4f5f04b05897dd4a2f6cb6777dcde4806c4389b2c',
    );
    expect(hex(requestDigest('Load', ['o', [1, 2, 4294967297, 2 ** 53 - 1], true]))).toBe(
      '47f68494f8419a94f616485aea4e3faccf11bb11d5c25cb7e35f7aeea0bf991b',
    );
    expect(hex(requestDigest('Allocate', ['o', 512, false]))).toBe(
      '8eae66b81fa31779df73cef38c8d431e06b96873e1df2b5ab89694304a098e5e',
    );
    expect(hex(requestDigest('Free', ['o', []]))).toBe(
      '3fa36346f920f6db7cfd85f86dae89c18aa2844079e2ebfa379ed9cf5a53920f',
    );
    // Checksums the caller already has give the same digest as computing them.
    const pages = swapOut[1];
    expect(requestDigest('SwapOut', swapOut, 'checksums', pageChecksums(pages))).toBe(
      requestDigest('SwapOut', swapOut),
    );
  });
});

/**
 * A request log on a file, restarted by closing it and opening another on the same file (with the journal's
 * answer records, as the coordinator hands them back), on a fake clock.
 */
function restartable(maxEntries: number, compactAfterBytes?: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-requests-'));
  const file = path.join(dir, 'requests.log');
  let now = 1_000_000;
  let applied = 0;
  /** Every answer record committed, as the coordinator's journal holds them. */
  const journal: Buffer[] = [];
  const open = (replayed: Buffer[] = []) =>
    new RequestLog({ file, maxEntries, compactAfterBytes, now: () => now, replayed, log: pino({ level: 'silent' }) });
  /** A Free under request_id `id`, answered with how many calls were applied by then; in flight until `held`. */
  const free = (log: RequestLog, id: string, held?: Promise<void>) =>
    log.run<number[]>(
      { method: 'Free', owner: 'o', requestId: id, digest: requestDigest('Free', ['o', [1]]) },
      undefined,
      async (answer) => {
        await held;
        const v = [++applied];
        const record = answer?.record(v);
        if (record) journal.push(record); // as the coordinator commits it with the change
        return v;
      },
      (v) => v.length,
    );
  /** A Free that stays in flight until release(). */
  const hold = (log: RequestLog, id: string) => {
    let release!: () => void;
    const call = free(log, id, new Promise<void>((r) => (release = r)));
    return { call, release };
  };
  return {
    file,
    open,
    free,
    hold,
    journal,
    applied: () => applied,
    tick: (ms: number) => (now += ms),
    done: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

describe('RequestLog with a requests file', () => {
  it('keeps the newest answers when the journal hands back older ones the bound had dropped', async () => {
    const t = restartable(5);
    try {
      const first = t.open();
      for (let i = 0; i < 20; i++, t.tick(10)) await t.free(first, `f${i}`);
      first.close();
      // Restarted: the file's answers, then every answer record the journal still holds.
      const second = t.open(t.journal);
      expect(second.stats.entries).toBe(5);
      for (let i = 15; i < 20; i++) expect(await t.free(second, `f${i}`)).toEqual([i + 1]);
      expect(t.applied()).toBe(20);
      expect(await t.free(second, 'f3')).toEqual([21]);
      second.close();
    } finally {
      t.done();
    }
  });

  it('after a restart forgets the oldest by arrival first, though the file holds answers as their calls ended', async () => {
    const t = restartable(4);
    try {
      const first = t.open();
      // 's' arrives first and ends after 'a' and 'b': its line follows theirs in the file.
      const s = t.hold(first, 's');
      for (const id of ['a', 'b']) {
        t.tick(10);
        await t.free(first, id);
      }
      s.release();
      await s.call;
      first.close();
      const second = t.open();
      for (const id of ['c', 'd']) {
        t.tick(10);
        await t.free(second, id); // at 'd', over the bound: the oldest to arrive, 's', goes (not 'a')
      }
      const before = t.applied();
      for (const id of ['a', 'b', 'c', 'd']) await t.free(second, id);
      expect(t.applied()).toBe(before);
      await t.free(second, 's');
      expect(t.applied()).toBe(before + 1);
      second.close();
    } finally {
      t.done();
    }
  });

  it('after a restart forgets what the bound forgot while a call was in flight, also when the journal hands it back', async () => {
    const t = restartable(3);
    try {
      const first = t.open();
      const a = t.hold(first, 'a');
      for (const id of ['e', 'd', 'b']) {
        t.tick(10);
        await t.free(first, id); // at 'b' the bound drops 'e', passing over 'a' in flight
      }
      a.release();
      await a.call;
      const before = t.applied();
      for (const id of ['a', 'd', 'b']) await t.free(first, id);
      expect(t.applied()).toBe(before);
      first.close();
      // A start that died before the journal was read (its rewrite of the file at start carries what it forgot).
      t.open().close();
      // Restarted with every answer record the journal holds, 'e' included: 'a', 'd' and 'b' are remembered.
      const second = t.open(t.journal);
      expect(second.stats.entries).toBe(3);
      for (const id of ['a', 'd', 'b']) await t.free(second, id);
      expect(t.applied()).toBe(before);
      await t.free(second, 'e');
      expect(t.applied()).toBe(before + 1);
      second.close();
    } finally {
      t.done();
    }
  });

  it('after a crash answers from the journal a call that was in flight when the file was last rewritten', async () => {
    const t = restartable(2, 1);
    try {
      const first = t.open();
      // 'p' commits (its answer record is in the journal), then stays in flight: its line never reaches the file.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const p = first.run<number[]>(
        { method: 'Free', owner: 'o', requestId: 'p', digest: requestDigest('Free', ['o', [1]]) },
        undefined,
        async (answer) => {
          const v = [100];
          t.journal.push(answer!.record(v)!);
          await gate;
          return v;
        },
        (v) => v.length,
      );
      // Answers dropped by the bound grow the file: it is rewritten, with 'p' in flight.
      for (let i = 0; i < 6; i++) await t.free(first, `x${i}`);
      for (let w = 0; w < 500 && fs.existsSync(`${t.file}.tmp`); w++) await new Promise((r) => setTimeout(r, 10));
      expect(fs.readFileSync(t.file, 'utf8')).toMatch(/^[0-9a-f]{8} W/);
      first.close(); // the crash: 'p' is never answered, and its line never written
      release();
      await p.catch(() => undefined);
      const second = t.open(t.journal);
      const before = t.applied();
      // Its retry gets the committed answer from the journal, not a second application.
      expect(
        await second.run<number[]>(
          { method: 'Free', owner: 'o', requestId: 'p', digest: requestDigest('Free', ['o', [1]]) },
          undefined,
          async () => [t.applied() + 1000],
          (v) => v.length,
        ),
      ).toEqual([100]);
      expect(t.applied()).toBe(before);
      second.close();
    } finally {
      t.done();
    }
  });

  describe('rewrite of a grown file', () => {
    const turn = () => new Promise((r) => setImmediate(r));
    const setup = async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-requests-'));
      const file = path.join(dir, 'requests.log');
      let applied = 0;
      const open = (fsync: 'always' | 'never' = 'never') =>
        new RequestLog({ file, maxEntries: 40, compactAfterBytes: 8192, fsync, log: pino({ level: 'silent' }) });
      const free = (log: RequestLog, i: number) =>
        log.run(
          { method: 'Free', owner: 'o', requestId: `r${i}`, digest: requestDigest('Free', ['o', [i, i + 1]]) },
          undefined,
          async () => [++applied, i],
          (v) => v.length,
        );
      /** After a restart: the last 40 are answered from the file as first given, an older one is applied again. */
      const checkRestart = async (calls: number, first: (i: number) => number) => {
        const log = open();
        try {
          expect(log.stats.entries).toBe(40);
          const before = applied;
          for (let i = calls - 40; i < calls; i++) expect(await free(log, i)).toEqual([first(i), i]);
          expect(applied).toBe(before);
          expect(await free(log, 0)).toEqual([before + 1, 0]);
        } finally {
          log.close();
        }
        expect(fs.existsSync(`${file}.tmp`)).toBe(false);
      };
      const lines = () => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
      return {
        fs,
        file,
        open,
        free,
        checkRestart,
        lines,
        done: () => fs.rmSync(dir, { recursive: true, force: true }),
      };
    };

    it('keeps the file to twice its live answers, and a restart answers those (not the dropped ones)', async () => {
      const t = await setup();
      try {
        const log = t.open();
        let largest = 0;
        for (let i = 0; i < 600; i++) {
          expect(await t.free(log, i)).toEqual([i + 1, i]);
          await turn(); // as gRPC calls give the event loop a turn between them
          largest = Math.max(largest, t.fs.statSync(t.file).size);
        }
        // The last rewrite ends (bounded: its fsync is off the event loop; 30 s for a loaded machine's disk).
        for (let w = 0; w < 3000 && t.fs.existsSync(`${t.file}.tmp`); w++) await new Promise((r) => setTimeout(r, 10));
        expect(t.fs.existsSync(`${t.file}.tmp`)).toBe(false);
        // At rest the file is at most twice the bytes of its 40 live answers (and a line; the rest are answers
        // the bound dropped, and the lines that say so); while rewrites ran, it never held more than half of the
        // 600 answers given.
        const answers = t.lines().filter((l) => l[9] !== '-');
        const longest = Math.max(...answers.map((l) => l.length + 1));
        expect(t.fs.statSync(t.file).size).toBeLessThanOrEqual((2 * 40 + 1) * longest);
        expect(answers.length).toBeLessThanOrEqual(2 * 40 + 1);
        expect(largest).toBeLessThan((600 / 2) * longest);
        log.close();
        await t.checkRestart(600, (i) => i + 1);
      } finally {
        t.done();
      }
    });

    it('rewrites again when what was appended during a rewrite leaves the file past the bound, with no append after', async () => {
      const t = await setup();
      try {
        const log = t.open();
        let i = 0;
        // One at a time until a rewrite begins...
        while (!t.fs.existsSync(`${t.file}.tmp`)) {
          expect(i).toBeLessThan(600);
          expect(await t.free(log, i)).toEqual([i + 1, i]);
          i++;
        }
        // ...then 200 answers before its first slice: they are its tail, and all but 40 are dropped meanwhile.
        const burst = await Promise.all(Array.from({ length: 200 }, (_, j) => t.free(log, i + j)));
        expect(burst.map((v) => v[1])).toEqual(Array.from({ length: 200 }, (_, j) => i + j));
        i += 200;
        // No more calls: the file comes to rest (bounded: 30 s for a loaded machine's disk) within twice its answers.
        for (let w = 0; w < 3000 && t.fs.existsSync(`${t.file}.tmp`); w++) await new Promise((r) => setTimeout(r, 10));
        expect(t.fs.existsSync(`${t.file}.tmp`)).toBe(false);
        const answers = t.lines().filter((l) => l[9] !== '-');
        const longest = Math.max(...answers.map((l) => l.length + 1));
        expect(answers.length).toBeLessThanOrEqual(2 * 40 + 1);
        expect(t.fs.statSync(t.file).size).toBeLessThanOrEqual((2 * 40 + 1) * longest);
        log.close();
        await t.checkRestart(i, (k) => k + 1);
      } finally {
        t.done();
      }
    });

    it('loses no answer given while a rewrite runs (calls in flight, answers dropped meanwhile)', async () => {
      const t = await setup();
      try {
        for (const fsync of ['always', 'never'] as const) {
          const log = t.open(fsync);
          const given = new Map<number, number>();
          const base = fsync === 'always' ? 0 : 10_000;
          // 16 calls at a time: answers are appended, and older ones dropped, between the rewrite's slices.
          for (let i = 0; i < 800; i += 16)
            await Promise.all(
              Array.from({ length: 16 }, async (_, j) => {
                const [first] = await t.free(log, base + i + j);
                given.set(base + i + j, first!);
              }),
            );
          log.close();
          await t.checkRestart(base + 800, (i) => given.get(i)!);
        }
      } finally {
        t.done();
      }
    });

    it('writes each answer once, that of a call in flight when it began too, and a restart answers them', async () => {
      const t = await setup();
      try {
        const log = t.open();
        const given = new Map<number, number>();
        const slowKey = {
          method: 'Free' as const,
          owner: 'o',
          requestId: 'slow',
          digest: requestDigest('Free', ['o', [-1]]),
        };
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        // In flight when the rewrite begins: its answer is appended (to the old file and the rewrite's tail),
        // never written by the walk as well.
        const slow = log.run(
          slowKey,
          undefined,
          async () => {
            await held;
            return [-1, -1];
          },
          (v) => v.length,
        );
        let i = 0;
        while (i < 2000) {
          given.set(i, (await t.free(log, i))[0]!);
          i++;
          if (t.fs.existsSync(`${t.file}.tmp`)) break; // begun by that call: its first slice waits for a turn
          await turn();
        }
        expect(t.fs.existsSync(`${t.file}.tmp`)).toBe(true);
        // More calls in the same turn, before the first slice (the bound drops older answers; "slow", in flight,
        // is passed over), and "slow" ends: the walk then finds it answered, and must leave it to the tail.
        for (const end = i + 10; i < end; i++) given.set(i, (await t.free(log, i))[0]!);
        release();
        expect(await slow).toEqual([-1, -1]);
        for (let w = 0; w < 500 && t.fs.existsSync(`${t.file}.tmp`); w++) await new Promise((r) => setTimeout(r, 10));
        expect(t.fs.existsSync(`${t.file}.tmp`)).toBe(false);
        const keys = t
          .lines()
          .filter((l) => l[9] === '{')
          .map((l) => (JSON.parse(l.slice(9)) as { k: string }).k);
        expect(keys).toContain('o\0slow');
        expect(keys.length, `answer lines: ${keys.join(', ')}`).toBe(new Set(keys).size);
        log.close();
        // The 40 kept: "slow" and the last 39 calls, each answered from the file as first given (applied again,
        // a call would get a new first number).
        const restarted = t.open();
        try {
          expect(restarted.stats.entries).toBe(40);
          let applied = false;
          const again = await restarted.run(
            slowKey,
            undefined,
            async () => {
              applied = true;
              return [0, 0];
            },
            (v) => v.length,
          );
          expect(again).toEqual([-1, -1]);
          expect(applied).toBe(false);
          for (let n = i - 39; n < i; n++) expect(await t.free(restarted, n)).toEqual([given.get(n), n]);
        } finally {
          restarted.close();
        }
      } finally {
        t.done();
      }
    });

    it('leaves the file as it is when closed while a rewrite runs', async () => {
      const t = await setup();
      try {
        const log = t.open();
        const given = new Map<number, number>();
        let closedMidway = false;
        for (let i = 0; i < 400; i++) {
          given.set(i, (await t.free(log, i))[0]!);
          if (t.fs.existsSync(`${t.file}.tmp`) && i > 300) {
            await turn(); // its first slice is written, and its fsync under way
            log.close(); // a rewrite is under way
            closedMidway = true;
            await t.checkRestart(i + 1, (n) => given.get(n)!);
            break;
          }
        }
        expect(closedMidway).toBe(true);
      } finally {
        t.done();
      }
    });
  });

  it('reads its answers back after a restart, skips a torn last line, and forgets answers past the window', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-requests-'));
    const file = path.join(dir, 'requests.log');
    let now = 5_000_000;
    let applied = 0;
    const open = () =>
      new RequestLog({ file, fsync: 'always', windowMs: 60_000, now: () => now, log: pino({ level: 'silent' }) });
    const free = (log: RequestLog, id: string) =>
      log.run(
        { method: 'Free', owner: 'o', requestId: id, digest: requestDigest('Free', ['o', [7]]) },
        undefined,
        async () => [++applied],
        (v) => v.length,
      );
    try {
      const first = open();
      expect(await free(first, 'a')).toEqual([1]);
      expect(await free(first, 'b')).toEqual([2]);
      first.close(); // or a crash: every line was synced before its answer
      fs.appendFileSync(file, '0000abcd {"k":"o\\u0000c","torn');
      const second = open();
      expect(await free(second, 'a')).toEqual([1]);
      expect(await free(second, 'b')).toEqual([2]);
      expect(applied).toBe(2);
      second.close();
      now += 61_000;
      const third = open();
      expect(third.stats.entries).toBe(0);
      expect(await free(third, 'a')).toEqual([3]);
      third.close();
      // A Load's pages are kept in the file and come back as the same bytes.
      const page = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));
      const fourth = open();
      const load = (log: RequestLog) =>
        log.run(
          { method: 'Load', owner: 'o', requestId: 'l', digest: requestDigest('Load', ['o', [7], true]) },
          undefined,
          async () => ({ pages: [page], counts: [++applied] }),
          (v) => v.counts.length,
        );
      expect((await load(fourth)).counts).toEqual([4]);
      fourth.close();
      const fifth = open();
      const back = await load(fifth);
      expect(back.counts).toEqual([4]);
      expect(Buffer.isBuffer(back.pages[0]) && back.pages[0].equals(page)).toBe(true);
      expect(fifth.stats.pageBytes).toBe(4096);
      fifth.close();
      // An answer an earlier build kept (its digest over the page bytes) still answers the retry that
      // arrives after the upgrade, and still refuses another request under the same id.
      const pages = [page, Buffer.alloc(4096, 1)];
      const swapOut = (log: RequestLog, sent: Buffer[], digest: 'checksums' | 'bytes') => {
        const parts = ['o', sent, false] as const;
        return log.run(
          {
            method: 'SwapOut',
            owner: 'o',
            requestId: 's',
            digest: requestDigest('SwapOut', parts, digest),
            legacyDigest: () => requestDigest('SwapOut', parts, 'bytes'),
          },
          undefined,
          async () => ({ slots: sent.map(() => ++applied), tiers: [] }),
          (v) => v.slots.length,
        );
      };
      const earlier = open();
      expect((await swapOut(earlier, pages, 'bytes')).slots).toEqual([5, 6]);
      earlier.close();
      // The file keeps digests as every build has (base64 of the SHA-256), whatever form memory holds.
      const legacy = requestDigest('SwapOut', ['o', pages, false], 'bytes');
      const stored = Buffer.from(legacy, 'latin1').toString('base64');
      expect(stored).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(fs.readFileSync(file, 'utf8')).toContain(`"d":"${stored}"`);
      const upgraded = open();
      expect((await swapOut(upgraded, pages, 'checksums')).slots).toEqual([5, 6]);
      expect(applied).toBe(6);
      const other = await swapOut(upgraded, [pages[1]!, pages[0]!], 'checksums').catch((e: unknown) => e);
      expect((other as VswapError).code).toBe(Status.ALREADY_EXISTS);
      expect(applied).toBe(6);
      upgraded.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RequestLog restart from the journal', () => {
  // Found by the model below (its crash op): the journal held b's first
  // answer, dropped by the bound at a restart with no forget line written,
  // and the answer of b's call run again; the earlier record was restored
  // and the later one skipped, then the bound dropped b, and b's retry was
  // applied a third time.
  it("answers a retry from the latest of its key's answer records, though an earlier one is in the journal too", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-requests-'));
    const journal: Buffer[] = [];
    let crash = false;
    const open = () =>
      new RequestLog({
        file: path.join(dir, 'requests.log'),
        maxEntries: 3,
        fsync: 'never',
        compactAfterBytes: 1,
        replayed: journal,
        now: () => 0,
        log: pino({ level: 'silent' }),
        afterCommit: () => {
          if (crash) throw new Error('killed between the journal commit and the requests.log append');
        },
      });
    let log = open();
    let applied = 0;
    const free = (id: string) =>
      log.run<number[]>(
        { method: 'Free', owner: 'o', requestId: id, digest: requestDigest('Free', ['o', [1]]) },
        undefined,
        async (answer) => {
          const v = [++applied];
          const record = answer?.record(v);
          if (record) journal.push(record);
          return v;
        },
        (v) => v.length,
      );
    try {
      await free('b');
      await free('a');
      // Each call commits, then the process dies before its append; the next life answers it from the journal.
      for (const id of ['d', 'e', 'b']) {
        crash = true;
        await expect(free(id)).rejects.toThrow(/killed/);
        crash = false;
        log.close();
        log = open();
        const before = applied;
        expect(await free(id)).toEqual([before]);
        expect(applied).toBe(before);
      }
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RequestLog order of forgetting (against a model)', () => {
  type Op =
    | { kind: 'free'; id: string }
    | { kind: 'fail'; id: string }
    | { kind: 'start'; id: string }
    | { kind: 'finish' }
    | { kind: 'tick'; ms: number }
    | { kind: 'restart'; twice: boolean }
    | { kind: 'crash'; id: string }
    | { kind: 'turn' };
  const id = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: id.map((i) => ({ kind: 'free' as const, id: i })) },
    { weight: 1, arbitrary: id.map((i) => ({ kind: 'fail' as const, id: i })) },
    { weight: 1, arbitrary: id.map((i) => ({ kind: 'start' as const, id: i })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'finish' as const }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ kind: 'tick' as const, ms })) },
    { weight: 1, arbitrary: fc.boolean().map((twice) => ({ kind: 'restart' as const, twice })) },
    { weight: 1, arbitrary: id.map((i) => ({ kind: 'crash' as const, id: i })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'turn' as const }) },
  );

  it('forgets past the window and over maxEntries oldest first, passing over calls in flight, whatever the order of calls, across restarts and crashes between a commit and its append', async () => {
    const windowMs = 200;
    const maxEntries = 3;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-requests-'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 120, size: 'max' }), async (ops) => {
        let now = 0;
        // A restart reads back requests.log, which has answers in the order their calls ended.
        const file = path.join(dir, `requests-${run++}.log`);
        // Every answer record ever committed: a journal never snapshotted hands back all of them, dropped ones too.
        const journal: Buffer[] = [];
        // Set by a crash op: the next call's change commits (its journal record too), then the process dies.
        let crashAfterCommit = false;
        const open = (replayed: Buffer[] = []) =>
          new RequestLog({
            afterCommit: () => {
              if (!crashAfterCommit) return;
              crashAfterCommit = false;
              throw new Error('killed between the journal commit and the requests.log append');
            },
            file,
            windowMs,
            maxEntries,
            fsync: 'never',
            // Rewritten as soon as it is twice its answers: rewrites run (a slice a turn) while calls go on.
            compactAfterBytes: 1,
            replayed,
            now: () => now,
            log: pino({ level: 'silent' }),
          });
        let log = open();
        // The model: entries in the order they were added, at their first call's start.
        let model: { id: string; at: number; settled: boolean }[] = [];
        const expire = () => (model = model.filter((e) => !e.settled || e.at >= now - windowMs));
        const evict = () => {
          while (model.length > maxEntries) {
            const i = model.findIndex((e) => e.settled);
            if (i < 0) break;
            model.splice(i, 1);
          }
        };
        let applied = 0;
        let paused: { id: string; release: () => void; call: Promise<unknown> } | undefined;
        const call = (i: string, apply: () => Promise<number[]>) =>
          log.run<number[]>(
            { method: 'Free', owner: 'o', requestId: i, digest: requestDigest('Free', ['o', [1]]) },
            undefined,
            async (answer) => {
              const v = await apply();
              const record = answer?.record(v);
              if (record) journal.push(record); // as the coordinator commits it with the change
              return v;
            },
            (v) => v.length,
          );
        for (const o of ops) {
          if (o.kind === 'tick') {
            now += o.ms;
            continue;
          }
          if (o.kind === 'turn') {
            // A turn of the event loop and the thread pool: a rewrite's next slice, or its end.
            await new Promise((r) => setTimeout(r, 1));
            continue;
          }
          if (o.kind === 'restart') {
            if (paused) continue; // an answer in flight at a crash is not remembered: not modelled here
            log.close();
            if (o.twice) open().close(); // a start that died before it read the journal
            log = open(journal);
            expire(); // as reading the file back does
            expect(log.stats.entries).toBe(model.length);
            continue;
          }
          if (o.kind === 'crash') {
            // A call runs, its change and answer record commit, and the process dies before the append.
            if (paused || model.some((e) => e.id === o.id)) continue; // a call in flight, or one answered from memory
            expire();
            crashAfterCommit = true;
            const before = applied;
            await expect(call(o.id, async () => [++applied])).rejects.toThrow(/killed between/);
            expect(applied).toBe(before + 1);
            log.close();
            log = open(journal);
            model.push({ id: o.id, at: now, settled: true });
            evict();
            expire(); // as reading the file back does
            expect(log.stats.entries).toBe(model.length);
            // Its retry is answered from the journal's record, not applied again.
            await call(o.id, async () => [++applied]);
            expect(applied).toBe(before + 1);
            continue;
          }
          if (o.kind === 'finish') {
            if (!paused) continue;
            paused.release();
            await paused.call;
            model.find((e) => e.id === paused!.id && !e.settled)!.settled = true;
            evict();
            paused = undefined;
            expect(log.stats.entries).toBe(model.length);
            continue;
          }
          if (o.id === paused?.id) continue; // a retry of a call in flight waits for it: not modelled here
          // One call in flight at a time; the log is not called, so the model must not expire either.
          if (o.kind === 'start' && paused) continue;
          expire(); // as every call to the log does first
          const known = model.some((e) => e.id === o.id);
          const before = applied;
          if (o.kind === 'start' && !known) {
            let release!: () => void;
            const gate = new Promise<void>((r) => (release = r));
            paused = { id: o.id, release, call: call(o.id, async () => (await gate, [++applied])) };
            model.push({ id: o.id, at: now, settled: false });
          } else if (o.kind === 'fail') {
            const r = await call(o.id, () => Promise.reject(invalidArgument('bad'))).catch((e: unknown) => e);
            // Remembered: answered from memory; otherwise it failed and changed nothing, so it is not remembered.
            expect(r instanceof VswapError).toBe(!known);
          } else {
            await call(o.id, async () => [++applied]);
            expect(applied).toBe(known ? before : before + 1);
            if (!known) {
              model.push({ id: o.id, at: now, settled: true });
              evict();
            }
          }
          expect(log.stats.entries).toBe(model.length);
        }
        if (paused) {
          paused.release();
          await paused.call;
        }
        log.close();
        fs.rmSync(file, { force: true });
      }),
      { numRuns: 500 },
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
