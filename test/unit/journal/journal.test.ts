import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, JournalCrash, type JournalOptions, SWITCH_STEPS } from '../../../services/coordinator/journal';
import {
  JournalCorruptError,
  journalLogBytes,
  logName,
  readJournal,
  snapshotName,
} from '../../../services/coordinator/journal-files';
import { type JournalRecord, RecordType, crc32 } from '../../../services/coordinator/journal-records';
import { SlotTable, TierCode } from '../../../services/coordinator/slot-table';

const FIXTURE_V1 = path.resolve(__dirname, '../../fixtures/journal-v1');

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-journal-'));
  dirs.push(d);
  return d;
}

/** A logger whose warnings the test can read. */
function capturingLog(): { log: JournalOptions['log']; lines: () => string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
  return { log, lines: () => lines };
}

/**
 * What the coordinator does with its journal, in small: a real slot table,
 * every change journaled as the slot's absolute state, snapshots of every
 * live slot, and replay through restoreSlot (which refuses a record that
 * contradicts the table, as a stale log replayed over a newer snapshot does).
 */
class Model {
  readonly table = new SlotTable();
  private readonly ownerIds = new Map<string, number>();
  journal!: Journal;

  static open(dir: string, extra: Partial<JournalOptions> = {}): Model {
    const m = new Model();
    const owners = new Map<number, string>();
    m.journal = Journal.open({ dir, log: capturingLog().log, fsync: 'never', ...extra }, (r) => {
      if (r.type === RecordType.Owner) owners.set(r.id, r.name);
      else if (r.type === RecordType.Release) m.table.releaseSlot(r.slot);
      else if (r.type === RecordType.Set)
        m.table.restoreSlot(r.slot, owners.get(r.ownerId)!, r.order, r.count, {
          tier: r.tier,
          backend: 0,
          handle: 0,
          checksum: r.checksum,
        });
    });
    for (const [id, name] of owners) m.ownerIds.set(name, id);
    // As the coordinator's (slot-store.ts): a copy of the table now, written out a cluster per piece.
    m.journal.onSnapshot(function* (w) {
      const image = m.table.capture();
      for (const [name, id] of m.ownerIds) w.name(RecordType.Owner, id, name);
      const ids = image.ownerNames.map((name) => (name ? m.ownerIds.get(name)! : 0));
      for (let k = 0; k < image.clusterCount; k++) {
        image.forEachSlotIn(k, (slot, owner, order, count, tier, _backend, _handle, checksum) => {
          if (count === 0) w.release(slot);
          else w.set(slot, ids[owner]!, order, count, tier, 0, 0, checksum);
        });
        yield;
      }
    });
    return m;
  }

  private ownerId(owner: string): number {
    let id = this.ownerIds.get(owner);
    if (id === undefined) {
      id = this.ownerIds.size + 1;
      this.ownerIds.set(owner, id);
      this.journal.pending.name(RecordType.Owner, id, owner);
    }
    return id;
  }

  private writeSlot(w: Journal['pending'], s: number): void {
    const owner = this.table.ownerOf(s);
    if (owner === undefined || this.table.countOf(s) === 0) w.release(s);
    else
      w.set(
        s,
        this.ownerIds.get(owner)!,
        this.table.orderOf(s),
        this.table.countOf(s),
        this.table.tierOf(s),
        0,
        0,
        this.table.checksumOf(s),
      );
  }

  async alloc(owner: string, n: number): Promise<number[]> {
    const r = this.table.allocate(owner, n, false);
    if (!r.ok) throw new Error(r.error.message);
    this.ownerId(owner);
    for (const s of r.value) {
      this.table.setBacking(s, { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: s });
      this.writeSlot(this.journal.pending, s);
    }
    await this.journal.commit();
    return r.value;
  }

  /** A new page in each slot (a Store): its checksum changes. */
  async touch(owner: string, slots: number[]): Promise<void> {
    const r = this.table.check(owner, slots);
    if (!r.ok) throw new Error(r.error.message);
    for (const s of slots) {
      this.table.setBacking(s, { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: this.table.checksumOf(s) + 1 });
      this.writeSlot(this.journal.pending, s);
    }
    await this.journal.commit();
  }

  async free(owner: string, slots: number[]): Promise<void> {
    const r = this.table.free(owner, slots);
    if (!r.ok) throw new Error(r.error.message);
    for (const s of slots) this.writeSlot(this.journal.pending, s);
    await this.journal.commit();
  }

  /** owner:slot:count:checksum for every live slot, sorted. */
  state(): string[] {
    const out: string[] = [];
    const t = this.table;
    t.forEachSlot((s) => void out.push(`${t.ownerOf(s)}:${s}:${t.countOf(s)}:${t.checksumOf(s)}`));
    return out.sort();
  }
}

describe('journal records', () => {
  it('CRC-32 is zlib’s', () => {
    for (const n of [0, 1, 12, 28, 1000]) {
      const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
      expect(crc32(b, 0, b.length)).toBe(zlib.crc32(b) >>> 0);
    }
  });
});

describe('journal', () => {
  it('replays what was committed, across a snapshot and a restart without close (kill -9)', async () => {
    const dir = tmpDir();
    const a = Model.open(dir, { snapshotAfterBytes: 4096 });
    const alice = await a.alloc('alice', 200);
    await a.free('alice', alice.slice(0, 50));
    await a.alloc('bob', 30);
    await a.journal.snapshotSettled();
    expect(a.journal.stats.snapshots).toBeGreaterThan(0);
    const want = a.state();
    // No close(): the process dies with the log preallocated (zeros past the records).
    const b = Model.open(dir);
    expect(b.state()).toEqual(want);
    b.journal.close();
  });

  // The defect: the snapshot was renamed into place and the log truncated
  // afterwards; a crash in between replayed the old log over the new snapshot
  // and the coordinator refused to start ("slot 512 is in a cluster of owner
  // bob, not alice").
  for (const step of SWITCH_STEPS) {
    it(`a crash at snapshot step "${step}" restarts with every committed change, old log never over new snapshot`, async () => {
      const dir = tmpDir();
      const a = Model.open(dir, {
        afterSwitchStep: (s) => {
          if (s === step && crashArmed) throw new JournalCrash(`crash at ${s}`);
        },
      });
      let crashArmed = false;
      // alice's cluster is freed and handed to bob: the log now holds alice's
      // slot 512 and, later, bob's, which contradict each other out of order.
      const alice = await a.alloc('alice', 4);
      await a.free('alice', alice);
      const bob = await a.alloc('bob', 4);
      expect(bob).toEqual(alice);
      await a.alloc('carol', 3);
      const want = a.state();
      crashArmed = true;
      expect(() => a.journal.snapshot()).toThrow(JournalCrash);
      const b = Model.open(dir);
      expect(b.state()).toEqual(want);
      // And it goes on: a later change and a later snapshot survive too.
      await b.free('bob', bob.slice(0, 1));
      expect(b.journal.snapshot()).toBe(true);
      await b.alloc('alice', 2);
      const want2 = b.state();
      const c = Model.open(dir);
      expect(c.state()).toEqual(want2);
      c.journal.close();
      // Only the current generation is left.
      expect(fs.readdirSync(dir).sort()).toEqual([
        expect.stringMatching(/^journal-\d+\.log$/),
        expect.stringMatching(/^snapshot-\d+\.bin$/),
      ]);
    });
  }

  it('cuts a torn tail (a crash mid-append) and keeps appending after it', async () => {
    const dir = tmpDir();
    const a = Model.open(dir);
    await a.alloc('alice', 10);
    const want = a.state();
    a.journal.close();
    const [log] = fs.readdirSync(dir).filter((f) => f.startsWith('journal-'));
    const file = path.join(dir, log!);
    const size = fs.statSync(file).size;
    // Half of a SET record: what a crash in the middle of write() leaves.
    fs.appendFileSync(file, Buffer.from([RecordType.Set, 0, 2, 0, 1, 0, 0, 0, 7, 7, 7, 7, 7, 7]));
    const cap = capturingLog();
    const b = Model.open(dir, { log: cap.log });
    expect(b.state()).toEqual(want);
    expect(cap.lines().join('')).toMatch(/torn record/);
    expect(fs.statSync(file).size).toBe(size);
    await b.alloc('alice', 1);
    const want2 = b.state();
    b.journal.close();
    expect(Model.open(dir).state()).toEqual(want2);
  });

  it('refuses to start on garbage followed by valid records, naming the file and offset, and truncates nothing', async () => {
    const dir = tmpDir();
    const a = Model.open(dir);
    await a.alloc('alice', 10);
    a.journal.close();
    const [log] = fs.readdirSync(dir).filter((f) => f.startsWith('journal-'));
    const file = path.join(dir, log!);
    const bytes = fs.readFileSync(file);
    // Records are owner name (12 + 5 bytes) then SETs of 32 bytes after the 16-byte header.
    const third = 16 + 17 + 2 * 32;
    bytes[third + 9] = bytes[third + 9]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    let err: unknown;
    try {
      Model.open(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalCorruptError);
    expect((err as Error).message).toContain(
      `${file} is corrupt at byte offset ${third}: record fails its CRC; a ` +
        `valid record follows at offset ${third + 32}`,
    );
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(() => readJournal(dir, () => undefined)).toThrow(JournalCorruptError);
  });

  it('refuses a file that is not what its name says (a snapshot copied over the log), naming it', async () => {
    const dir = tmpDir();
    const a = Model.open(dir);
    await a.alloc('alice', 3);
    expect(a.journal.snapshot()).toBe(true);
    a.journal.close();
    const names = fs.readdirSync(dir);
    const snap = names.find((f) => f.startsWith('snapshot-'))!;
    const log = names.find((f) => f.startsWith('journal-'))!;
    fs.copyFileSync(path.join(dir, snap), path.join(dir, log));
    expect(() => Model.open(dir)).toThrow(
      `journal file ${path.join(dir, log)} is corrupt at byte offset 0: header says snapshot of generation 1`,
    );
  });

  it('refuses a damaged snapshot rather than starting from part of it', async () => {
    const dir = tmpDir();
    const a = Model.open(dir);
    await a.alloc('alice', 10);
    expect(a.journal.snapshot()).toBe(true);
    a.journal.close();
    const [snap] = fs.readdirSync(dir).filter((f) => f.startsWith('snapshot-'));
    const file = path.join(dir, snap!);
    fs.truncateSync(file, fs.statSync(file).size - 12); // its END record gone
    expect(() => Model.open(dir)).toThrow(/snapshot has no END record/);
  });

  it('migrates a format-1 data directory (snapshot.bin + journal.log written by the previous coordinator)', async () => {
    const dir = tmpDir();
    for (const f of ['snapshot.bin', 'journal.log']) fs.copyFileSync(path.join(FIXTURE_V1, f), path.join(dir, f));
    const expected = (
      JSON.parse(fs.readFileSync(path.join(FIXTURE_V1, 'expected.json'), 'utf8')) as [number, string, number][]
    )
      .map(([s, o, c]) => `${o}:${s}:${c}`)
      .sort();
    expect(expected.length).toBe(360);
    const a = Model.open(dir);
    expect(a.state().map((line) => line.replace(/:\d+$/, ''))).toEqual(expected); // the fixture lists no checksums
    // A change before the first snapshot lands in generation 0's log, on top of the old files.
    await a.alloc('dave', 1);
    const want = a.state();
    const b = Model.open(dir);
    expect(b.state()).toEqual(want);
    expect(b.journal.snapshot()).toBe(true);
    b.journal.close();
    expect(fs.existsSync(path.join(dir, 'snapshot.bin'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'journal.log'))).toBe(false);
    expect(Model.open(dir).state()).toEqual(want);
  });

  it('readJournal reads what a restart would, changing nothing (a torn tail stays)', async () => {
    const dir = tmpDir();
    const a = Model.open(dir, { snapshotAfterBytes: 4096 });
    const slots = await a.alloc('alice', 300);
    await a.free('alice', slots.slice(0, 10));
    await a.journal.snapshotSettled(); // a background snapshot still writing would change the files under us
    const before = new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
    const records: JournalRecord[] = [];
    readJournal(dir, (r) => records.push(r));
    const live = new Set<number>();
    for (const r of records)
      if (r.type === RecordType.Set) live.add(r.slot);
      else if (r.type === RecordType.Release) live.delete(r.slot);
    expect(live.size).toBe(a.table.usedSlots());
    for (const [f, data] of before) expect(fs.readFileSync(path.join(dir, f)).equals(data)).toBe(true);
    a.journal.close();
  });
});

/** The files of `dir` as they are now, in a new directory: what a restart after kill -9 at this moment reads. */
function killedCopy(dir: string): string {
  const copy = tmpDir();
  for (const f of fs.readdirSync(dir, { withFileTypes: true }))
    if (f.isFile()) fs.copyFileSync(path.join(dir, f.name), path.join(copy, f.name));
  return copy;
}

/** A model whose log is already past `snapshotAfterBytes`: its first commit starts a background snapshot. */
async function modelDueForSnapshot(dir: string, extra: Partial<JournalOptions> = {}): Promise<Model> {
  const fill = Model.open(dir);
  for (let i = 0; i < 12; i++) await fill.alloc(`fill-${i}`, 300);
  fill.journal.close();
  return Model.open(dir, { snapshotAfterBytes: 4096, snapshotSliceMs: 0, ...extra });
}

describe('background snapshots (started by a commit, written while commits go on)', () => {
  it('lose no committed change at any point of the snapshot: before its switch, at it, and after', async () => {
    const dir = tmpDir();
    const a = await modelDueForSnapshot(dir);
    // Each owner's slots, owners in the order of their first cluster.
    const held = new Map<string, number[]>();
    a.table.forEachSlot((s) => {
      const owner = a.table.ownerOf(s)!;
      const slots = held.get(owner) ?? [];
      slots.push(s);
      held.set(owner, slots);
    });
    // Last cluster's owner first: the image's walk reaches it last.
    const leaving = [...held.keys()].reverse();
    let during = 0;
    let after = 0;
    for (let op = 0; after < 5; op++) {
      if (op > 200) throw new Error('the background snapshot never switched');
      // An owner's slots get new pages, then it leaves, and a new owner takes
      // its cluster (the same slot ids): an image read from the live table,
      // or a new log without what came in meanwhile, replays into a table
      // that contradicts itself or lacks changes.
      const owner = leaving[op] ?? [...held.keys()][op % held.size]!;
      const slots = held.get(owner)!;
      await a.touch(owner, slots);
      await a.free(owner, slots);
      held.delete(owner);
      const fresh = `new-${op}`;
      held.set(fresh, await a.alloc(fresh, 300));
      if (a.journal.stats.snapshots === 0) during++;
      else after++;
      const b = Model.open(killedCopy(dir));
      expect(b.state()).toEqual(a.state());
      b.journal.close();
    }
    expect(a.journal.stats.snapshots).toBe(1);
    // Commits did cut in: the image was built over many turns, and written while they went on.
    expect(during).toBeGreaterThanOrEqual(3);
    a.journal.close();
    expect(Model.open(dir).state()).toEqual(a.state());
  });

  it('a close while one is under way leaves generation N whole; the next start removes what it wrote', async () => {
    const dir = tmpDir();
    const a = await modelDueForSnapshot(dir);
    const gen = a.journal.stats.generation;
    await a.alloc('x', 10); // starts it
    a.journal.close();
    await a.journal.snapshotSettled();
    expect(a.journal.stats.snapshots).toBe(0);
    const b = Model.open(dir);
    expect(b.state()).toEqual(a.state());
    expect(b.journal.stats.generation).toBe(gen);
    b.journal.close();
    expect(fs.readdirSync(dir).filter((f) => f.includes(String(gen + 1).padStart(8, '0')))).toEqual([]);
  });

  it('one that cannot write its files is counted and given up; generation N goes on with every change', async () => {
    const dir = tmpDir();
    const cap = capturingLog();
    const a = await modelDueForSnapshot(dir, { log: cap.log });
    const gen = a.journal.stats.generation;
    // The snapshot's file name is taken by a directory: its open fails (EISDIR), as on a broken disk.
    const blocked = path.join(dir, `${snapshotName(gen + 1)}.tmp`);
    fs.mkdirSync(blocked);
    await a.alloc('x', 10);
    await a.journal.snapshotSettled();
    expect(a.journal.stats.snapshotFailures).toBe(1);
    expect(a.journal.stats.snapshots).toBe(0);
    expect(cap.lines().join('')).toMatch(/snapshot failed; the current generation goes on/);
    expect(fs.existsSync(path.join(dir, logName(gen + 1)))).toBe(false);
    await a.alloc('y', 10);
    const b = Model.open(killedCopy(dir));
    expect(b.state()).toEqual(a.state());
    b.journal.close();
    a.journal.close();
  });

  // A call reserves room (reserve()) before it changes the table and commits
  // after: a switch in between must not take that room back, or its commit
  // could fail for space after its change was applied.
  for (const background of [false, true])
    it(`a switch keeps the room calls under way reserved (${background ? 'background' : 'foreground'})`, async () => {
      const dir = tmpDir();
      const a = await modelDueForSnapshot(dir, { preallocateBytes: 128 * 1024 });
      a.journal.reserve(600 * 1024);
      const gen = a.journal.stats.generation;
      if (background) {
        await a.alloc('x', 10);
        await a.journal.snapshotSettled();
      } else expect(a.journal.snapshot()).toBe(true);
      expect(a.journal.stats.generation).toBe(gen + 1);
      const log = path.join(dir, logName(gen + 1));
      expect(fs.statSync(log).size).toBeGreaterThanOrEqual(a.journal.stats.logBytes + 600 * 1024);
      a.journal.close();
      expect(Model.open(dir).state()).toEqual(a.state());
    });

  for (const step of SWITCH_STEPS) {
    it(`a crash at step "${step}" of one restarts with every committed change`, async () => {
      const dir = tmpDir();
      const a = await modelDueForSnapshot(dir, {
        afterSwitchStep: (s) => {
          if (s === step) throw new JournalCrash(`crash at ${s}`);
        },
      });
      await a.alloc('x', 10);
      const committed = a.alloc('y', 10); // in flight while the snapshot builds
      await a.journal.snapshotSettled();
      await committed.catch(() => undefined); // its commit may have been cut by the crash
      const b = Model.open(dir);
      const got = b.state();
      b.journal.close();
      // Everything acknowledged before the crash is there; y's slots are there whole or not at all.
      const ys = a.state().filter((l) => l.startsWith('y:'));
      expect(got.filter((l) => !l.startsWith('y:'))).toEqual(a.state().filter((l) => !l.startsWith('y:')));
      expect([0, ys.length]).toContain(got.filter((l) => l.startsWith('y:')).length);
    });
  }
});

describe('journalLogBytes (the fault harness fills "the disk" at this size)', () => {
  it("is the current log's size, not the newest file's, and follows a snapshot to the new generation", async () => {
    const dir = tmpDir();
    expect(journalLogBytes(dir)).toBe(0);
    const a = Model.open(dir);
    await a.alloc('a', 8);
    const log = fs.readdirSync(dir).find((f) => /^journal-\d+\.log$/.test(f))!;
    const size = fs.statSync(path.join(dir, log)).size;
    expect(size).toBeGreaterThan(0);
    // The coordinator writes these after its journal, often: the newest file is not the journal.
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(path.join(dir, 'requests.log'), 'x'.repeat(100));
    expect(journalLogBytes(dir)).toBe(size);
    expect(a.journal.snapshot()).toBe(true);
    const next = fs.readdirSync(dir).find((f) => /^journal-\d+\.log$/.test(f))!;
    expect(next).not.toBe(log);
    expect(journalLogBytes(dir)).toBe(fs.statSync(path.join(dir, next)).size);
    a.journal.close();
  });
});
