import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ServiceStartError } from '../../../clients/cluster/spawn-service';
import { Journal, JournalCrash, SWITCH_STEPS } from '../../../services/coordinator/journal';
import { type JournalRecord, RecordType, type SetRecord } from '../../../services/coordinator/journal-records';
import { clusterPerTest, expectCode } from './helpers';
import { randomPage } from './pages';

const FIXTURE_V1 = path.resolve(__dirname, '../../fixtures/journal-v1');
const quiet = pino({ level: 'silent' });

/**
 * Runs a snapshot switch on a stopped coordinator's journal, writing back
 * the state its records describe (as the coordinator's own snapshot does),
 * and stops dead at `step` as a kill -9 there would.
 */
function crashDuringSwitch(dir: string, step: (typeof SWITCH_STEPS)[number]): void {
  const names: JournalRecord[] = [];
  const live = new Map<number, SetRecord>();
  const j = Journal.open(
    {
      dir,
      log: quiet,
      afterSwitchStep: (s) => {
        if (s === step) throw new JournalCrash(s);
      },
    },
    (r) => {
      if (r.type === RecordType.Owner || r.type === RecordType.Backend) names.push(r);
      else if (r.type === RecordType.Release) live.delete(r.slot);
      else if (r.type === RecordType.Set) live.set(r.slot, r);
    },
  );
  j.onSnapshot((w) => {
    for (const r of names)
      if (r.type === RecordType.Owner || r.type === RecordType.Backend) w.name(r.type, r.id, r.name);
    for (const r of live.values())
      w.set(r.slot, r.ownerId, r.order, r.count, r.tier, r.backendId, r.handle, r.checksum);
  });
  expect(() => j.snapshot()).toThrow(JournalCrash);
}

describe('coordinator journal on disk', () => {
  const fx = clusterPerTest();

  it('restarts with every acknowledged page after a crash at each step of a snapshot switch', async () => {
    const c = await fx.start({ zswap: false, swapfiles: [{ name: 'file0', capacityPages: 4096, fsync: 'always' }] });
    const coordDir = path.join(fx.dir, 'coordinator');
    const want = new Map<string, Map<number, Buffer>>([
      ['alice', new Map()],
      ['bob', new Map()],
    ]);
    const swapOut = async (owner: string, n: number): Promise<number[]> => {
      const pages = Array.from({ length: n }, () => randomPage());
      const { slots } = await c.swapOut(owner, pages);
      slots.forEach((s, k) => want.get(owner)!.set(s, pages[k]!));
      return slots;
    };
    // alice's slots are freed and her cluster goes to bob: the journal holds
    // both owners for the same slot ids (what made the old switch fatal).
    const gone = await swapOut('alice', 8);
    await c.free('alice', gone);
    for (const s of gone) want.get('alice')!.delete(s);
    const reused = await swapOut('bob', 8);
    expect(reused).toEqual(gone);
    for (const step of SWITCH_STEPS) {
      await swapOut('alice', 3);
      const bobs = [...want.get('bob')!.keys()];
      await c.free('bob', [bobs[0]!]);
      want.get('bob')!.delete(bobs[0]!);
      await swapOut('bob', 2);
      await fx.cluster.kill('coordinator', 'SIGKILL');
      crashDuringSwitch(coordDir, step);
      await fx.cluster.startAgain('coordinator');
      for (const [owner, pages] of want) {
        const slots = [...pages.keys()];
        const got = await c.load(owner, slots);
        got.forEach((p, k) =>
          expect(p.equals(pages.get(slots[k]!)!), `${owner} slot ${slots[k]} after a crash at ${step}`).toBe(true),
        );
      }
      await expectCode(c.load('alice', [gone[0]!]), Status.PERMISSION_DENIED);
      expect((await c.stats()).usedSlots).toBe(want.get('alice')!.size + want.get('bob')!.size);
    }
  });

  it('refuses to start on a corrupt journal, naming the file and offset, and leaves the file as it was', async () => {
    const c = await fx.start({ zswap: false, swapfiles: [{ name: 'file0', capacityPages: 1024 }] });
    for (let i = 0; i < 4; i++) await c.swapOut('app', [randomPage(), randomPage()]);
    await fx.cluster.kill('coordinator', 'SIGKILL');
    const coordDir = path.join(fx.dir, 'coordinator');
    const [log] = fs.readdirSync(coordDir).filter((f) => /^journal-\d+\.log$/.test(f));
    const file = path.join(coordDir, log!);
    const bytes = fs.readFileSync(file);
    // One flipped byte in the second SET record (after the header and the
    // backend and owner name records), with valid records after it.
    const nameBytes = 12 + 'file0'.length + 12 + 'app'.length;
    const at = 16 + nameBytes + 32;
    bytes[at + 20] = bytes[at + 20]! ^ 0x55;
    fs.writeFileSync(file, bytes);
    const err = await fx.cluster.startAgain('coordinator').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceStartError);
    expect((err as ServiceStartError).stderr).toContain(
      `journal file ${file} is corrupt at byte offset ${at}: record fails its CRC; a valid record follows`,
    );
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it('starts on a data directory written by the previous format and keeps every slot', async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE_V1, 'expected.json'), 'utf8')) as [
      number,
      string,
      number,
    ][];
    const c = await fx.start({ zswap: false, swapfiles: [{ name: 'file0', capacityPages: 1024 }] });
    await fx.cluster.kill('coordinator', 'SIGTERM');
    const dir = path.join(fx.dir, 'coordinator');
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
    for (const f of ['snapshot.bin', 'journal.log']) fs.copyFileSync(path.join(FIXTURE_V1, f), path.join(dir, f));
    for (let restart = 0; restart < 2; restart++) {
      await fx.cluster.startAgain('coordinator');
      for (const owner of ['alice', 'bob']) {
        const mine = expected.filter(([, o]) => o === owner);
        const infos = await c.inspect(
          owner,
          mine.map(([s]) => s),
        );
        expect(infos.map((i) => [i.slot, owner, i.count])).toEqual(mine);
        expect(infos.every((i) => i.tier === 'TIER_ZERO')).toBe(true);
      }
      expect(fs.existsSync(path.join(dir, 'journal.log'))).toBe(false);
      await fx.cluster.kill('coordinator', 'SIGKILL');
    }
  });
});
