import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningCoordinator, startCoordinator } from '../../../services/coordinator/running-coordinator';
import { DEFAULT_POLICY } from '../../../services/coordinator/owner-policy';
import { FakeBackend, fakeClusters, page, turns } from '../../support/fake-backend';

/**
 * Owners come and go (each process is one): once an owner holds no slot, the
 * coordinator keeps nothing for it, however many owners have been through.
 */
describe('owners that come and go', () => {
  const cluster = fakeClusters();

  it('per-owner state returns to its size after 400 owners swap out and free everything, and the totals keep every page', async () => {
    const fc = await cluster.start({ zswap: 'zswap', file0: 'swapfile' });
    const c = fc.coordinator;
    // One owner stays throughout, so "back to its size" is not "empty".
    const kept = await c.swapOut('keeper', [page('k')], false);
    await fc.admin.setOwnerPolicy('keeper', true, { ...DEFAULT_POLICY, swapMaxPages: 100 });
    const before = fc.reporting.ownerStateSizes();
    expect(before).toEqual({ table: 1, journalIds: 1, counters: 1, policies: 1 });

    const N = 400;
    let outs = 1;
    let ins = 0;
    const one = async (i: number): Promise<void> => {
      const owner = `proc-${i}`;
      switch (i % 5) {
        case 0: {
          // A small owner: its slot comes from a shared cluster.
          const { slots } = await c.swapOut(owner, [page(`a${i}`)], false);
          outs += 1;
          await c.free(owner, slots);
          break;
        }
        case 1: {
          // Clusters of its own; everything read back with release.
          const pages = Array.from({ length: 40 }, (_, k) => page(`b${i}.${k}`));
          const { slots } = await c.swapOut(owner, pages, false);
          outs += 40;
          await c.store(owner, slots.slice(0, 5), pages.slice(0, 5));
          outs += 5;
          const { pages: back } = await c.load(owner, slots, true);
          ins += 40;
          back.forEach((p, k) => expect(p.equals(pages[k]!)).toBe(true));
          break;
        }
        case 2: {
          // A contiguous run, stored and duplicated, freed twice.
          const slots = await c.allocate(owner, 8, true);
          await c.store(
            owner,
            slots,
            slots.map((s) => page(`c${s}`)),
          );
          outs += 8;
          await c.duplicate(owner, slots);
          await c.free(owner, slots);
          await c.free(owner, slots);
          break;
        }
        case 3: {
          // A policy set for the owner, then set back to the defaults.
          await fc.admin.setOwnerPolicy(owner, true, { ...DEFAULT_POLICY, zswapWriteback: false });
          const { slots } = await c.swapOut(owner, [page(`d${i}`), Buffer.alloc(4096)], false);
          outs += 2;
          await c.load(owner, slots, false);
          ins += 2;
          await c.free(owner, slots);
          await fc.admin.setOwnerPolicy(owner, true, { ...DEFAULT_POLICY });
          break;
        }
        case 4: {
          // Pages written back to the swapfile before they are freed.
          const { slots } = await c.swapOut(owner, [page(`e${i}`), page(`f${i}`)], false);
          outs += 2;
          await fc.admin.writeback(2, owner);
          await c.free(owner, slots);
          break;
        }
      }
    };
    for (let i = 0; i < N; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => one(i + k)));
    await turns(10);

    expect(fc.reporting.ownerStateSizes()).toEqual(before);
    expect(fc.table.usedSlots()).toBe(1);
    // The totals keep the pages of owners gone; an owner gone reads as one that never swapped.
    const all = await fc.reporting.stats('');
    expect(all.swapOuts).toBe(outs);
    expect(all.swapIns).toBe(ins);
    expect(all.owners.map((o) => o.owner)).toEqual(['keeper']);
    const gone = await fc.reporting.stats('proc-1');
    expect([gone.usedSlots, gone.swapOuts, gone.swapIns, gone.owners[0]!.policy.swapMaxPages]).toEqual([0, 0, 0, 0]);
    // The metrics' per-owner rows (the owners held, then the departed) still add up to the totals.
    const view = fc.reporting.metricsView();
    expect(view.departedOwners.swapOuts + view.ownerCounters.get('keeper')!.swapOuts).toBe(outs);
    expect(view.departedOwners.swapIns).toBe(ins);
    // An owner that comes back starts counting again.
    const again = await c.swapOut('proc-1', [page('again')], false);
    expect((await fc.reporting.stats('proc-1')).swapOuts).toBe(1);
    await c.free('proc-1', again.slots);
    expect((await c.load('keeper', kept.slots, false)).pages[0]!.equals(page('k'))).toBe(true);
  });

  describe('journal owner ids are reused once their owner is gone', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    });

    for (const snapshots of [false, true]) {
      it(`a restart gives every slot its owner${snapshots ? ' (a snapshot at every commit)' : ''}`, async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-churn-'));
        dirs.push(dir);
        const file0 = new FakeBackend({ kind: 'swapfile' });
        const open = (): Promise<RunningCoordinator> =>
          startCoordinator({
            dataDir: dir,
            backends: [{ name: 'file0', address: 'fake:file0', priority: 0 }],
            pollMs: 3_600_000,
            snapshotAfterBytes: snapshots ? 1 : undefined,
            log: pino({ level: 'silent' }),
            connect: () => file0,
          });
        let c = await open();
        const held = new Map<string, number[]>();
        try {
          // Owners take ids, leave, and new owners take their ids, with slots of both kinds live across.
          for (let round = 0; round < 6; round++) {
            const gone = await c.coordinator.swapOut(`gone-${round}`, [page(`g${round}`)], round % 2 === 0);
            const stay = await c.coordinator.swapOut(
              `stay-${round}`,
              Array.from({ length: round === 3 ? 20 : 1 }, (_, k) => page(`s${round}.${k}`)),
              false,
            );
            held.set(`stay-${round}`, stay.slots);
            await c.coordinator.free(`gone-${round}`, gone.slots);
          }
          expect(c.reporting.ownerStateSizes().journalIds).toBe(6);
        } finally {
          await c.close();
        }
        c = await open();
        try {
          expect(c.table.owners().sort()).toEqual([...held.keys()].sort());
          for (const [owner, slots] of held) {
            const { pages } = await c.coordinator.load(owner, slots, false);
            const round = owner.slice('stay-'.length);
            pages.forEach((p, k) => expect(p.equals(page(`s${round}.${k}`))).toBe(true));
          }
        } finally {
          await c.close();
        }
      });
    }
  });
});
