import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { type RunningCoordinator, startCoordinator } from '../../../services/coordinator/running-coordinator';
import { FakeBackend, fakeClusters, page } from '../../support/fake-backend';

async function code(p: Promise<unknown>): Promise<Status | 'ok'> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => (e as VswapError).code,
  );
}

/**
 * Issue 10, defect 2: a backend restarts empty between two Info polls and
 * hands out the handles its lost pages had. The coordinator must not commit a
 * placement made in an epoch it has not reconciled, nor read or delete with a
 * handle from the old epoch.
 */
describe('backend epochs', () => {
  const cluster = fakeClusters();

  for (const checksEpochs of [true, false]) {
    it(`a page lost in a restart reads as lost, and freeing it never deletes a page stored after the restart (backend ${checksEpochs ? 'refuses' : 'only reports'} other epochs)`, async () => {
      const file0 = new FakeBackend({ kind: 'swapfile', reuseHandles: true });
      const file1 = new FakeBackend({ kind: 'swapfile', reuseHandles: true });
      file0.checksEpochs = checksEpochs;
      const fc = await cluster.start([
        { name: 'file0', priority: 10, fake: file0 },
        { name: 'file1', priority: 1, fake: file1 },
      ]);
      const c = fc.coordinator;
      const old = await c.swapOut('app', [page('lost')], false);
      expect(fc.reporting.describe(old.slots[0]!)).toMatchObject({ backend: 'file0', handle: 1 });
      // file0 restarts empty; the coordinator has not polled it since.
      file0.restartEmpty();
      // A read of the lost page is not answered with whatever file0 now keeps under handle 1.
      const fresh = await c.swapOut('app', [page('fresh')], false);
      expect(fc.reporting.describe(fresh.slots[0]!).backend).toBe('file1');
      if (checksEpochs) expect(await code(c.load('app', old.slots, false))).toBe(Status.UNAVAILABLE);
      // The next poll reconciles file0: the old page is lost, not silently replaced.
      await fc.registry.pollOnce();
      await fc.admin.reconcile(fc.registry.get('file0')!);
      expect(fc.reporting.describe(old.slots[0]!).tier).toBe('TIER_LOST');
      expect(await code(c.load('app', old.slots, false))).toBe(Status.DATA_LOSS);
      // file0 is back in service; a new page may get handle 1 again there...
      const again = await c.swapOut('app', [page('again')], false);
      expect(fc.reporting.describe(again.slots[0]!)).toMatchObject({ backend: 'file0', handle: 1 });
      // ...and freeing the lost slot deletes nothing of it.
      await c.free('app', old.slots);
      await fc.close(); // sends the queued deletes
      expect(file0.entries.get(1)?.page.equals(page('again'))).toBe(true);
    });
  }

  it('a Delete queued in the old epoch is refused by the restarted backend and not retried', async () => {
    const file0 = new FakeBackend({ kind: 'swapfile', reuseHandles: true });
    const fc = await cluster.start([{ name: 'file0', fake: file0 }]);
    const c = fc.coordinator;
    const a = await c.swapOut('app', [page('a')], false);
    file0.down = true;
    await c.free('app', a.slots);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // It comes back empty and takes a new page under handle 1 (reconciled first).
    file0.down = false;
    file0.restartEmpty();
    await fc.registry.pollOnce();
    await fc.admin.reconcile(fc.registry.get('file0')!);
    const b = await c.swapOut('app', [page('b')], false);
    const d = await c.swapOut('app', [page('d')], false);
    expect(fc.reporting.describe(b.slots[0]!)).toMatchObject({ handle: 1 });
    expect(fc.reporting.describe(d.slots[0]!)).toMatchObject({ handle: 2 });
    // Freeing d sends the queued deletes: the old one names the old epoch and is refused.
    await c.free('app', d.slots);
    await fc.close();
    expect(file0.entries.has(2)).toBe(false);
    expect(file0.entries.get(1)?.page.equals(page('b'))).toBe(true);
  });

  it('after a coordinator restart no Get or Delete goes out without an epoch: reads wait for the reconcile, which removes freed pages', async () => {
    const zswap = new FakeBackend({ kind: 'zswap', reuseHandles: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-epochs-'));
    const start = (): Promise<RunningCoordinator> =>
      startCoordinator({
        dataDir: dir,
        backends: [{ name: 'zswap', address: 'fake:zswap', priority: 0 }],
        pollMs: 3_600_000,
        log: pino({ level: 'silent' }),
        connect: () => zswap,
      });
    try {
      const first = await start();
      const { slots } = await first.coordinator.swapOut('app', [page('x'), page('y')], false);
      await first.close();
      // The coordinator starts again while zswap does not answer: nothing is reconciled yet.
      zswap.down = true;
      const c = await start();
      try {
        zswap.down = false;
        zswap.calls.length = 0;
        // A read is not sent unchecked (a handle without its epoch could name a later page): retry later.
        expect(await code(c.coordinator.load('app', [slots[0]!], false))).toBe(Status.UNAVAILABLE);
        // A Free changes the table; its backend Delete is not sent unchecked either.
        expect(await c.coordinator.free('app', [slots[1]!])).toEqual([0]);
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        expect(zswap.calls.filter((x) => x.method === 'get' || x.method === 'delete')).toEqual([]);
        // The reconcile removes what the table no longer names, and reads go through again, with the epoch.
        await c.registry.pollOnce();
        await c.admin.reconcile(c.registry.get('zswap')!);
        expect(zswap.entries.size).toBe(1);
        expect((await c.coordinator.load('app', [slots[0]!], false)).pages[0]!.equals(page('x'))).toBe(true);
        const gets = zswap.calls.filter((x) => x.method === 'get');
        expect(gets.length).toBeGreaterThan(0);
        for (const g of gets) expect((g.req as { epoch: string }).epoch).toBe(zswap.epoch);
      } finally {
        await c.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
