import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VswapClientError } from '../../../clients/sdk/errors';
import { clusterPerTest, expectCode, until } from './helpers';
import { randomPage } from './pages';

const execFileAsync = promisify(execFile);

describe('coordinator on a full disk', () => {
  const fx = clusterPerTest();

  /** RLIMIT_FSIZE of the running coordinator: a write past `bytes` fails with EFBIG, as on a full disk. */
  async function limitCoordinatorFiles(bytes: number | undefined): Promise<void> {
    const pid = fx.cluster.node('coordinator').service?.child.pid;
    if (pid === undefined) throw new Error('coordinator not running');
    await execFileAsync('prlimit', ['--pid', String(pid), `--fsize=${bytes ?? 'unlimited'}:`]);
  }

  function journalLogSize(): number {
    const dir = path.join(fx.dir, 'coordinator');
    const [log] = fs.readdirSync(dir).filter((f) => /^journal-\d+\.log$/.test(f));
    return fs.statSync(path.join(dir, log!)).size;
  }

  /** Allocates (journal records, no pages) until the journal refuses even one more slot. */
  async function fillJournal(c: Awaited<ReturnType<typeof fx.start>>): Promise<number[]> {
    const slots: number[] = [];
    for (const batch of [512, 64, 8, 1]) {
      for (;;) {
        try {
          slots.push(...(await c.allocate('filler', batch)));
        } catch (err) {
          expect(VswapClientError.from(err).codeName).toBe('RESOURCE_EXHAUSTED');
          break;
        }
      }
    }
    return slots;
  }

  it('answers RESOURCE_EXHAUSTED with nothing changed, keeps serving reads, and takes writes again once there is room', async () => {
    const c = await fx.start(
      {
        zswap: false,
        swapfiles: [{ name: 'file0', capacityPages: 4096 }],
        coordinatorArgs: ['--journal-fsync', 'always', '--backend-deadline-ms', '60000'],
      },
      60_000,
    );
    const pages = Array.from({ length: 8 }, () => randomPage());
    const { slots } = await c.swapOut('app', pages);
    await limitCoordinatorFiles(journalLogSize());

    // A SwapOut whose backend write is under way when the disk fills up: its
    // journal commit would fail, so it must not keep its slots or its pages.
    fx.cluster.pause('file0');
    const late = c.swapOut('late', [randomPage(), randomPage(), randomPage()]).then(
      () => undefined,
      (e: unknown) => VswapClientError.from(e),
    );
    await new Promise((r) => setTimeout(r, 200));
    const filler = await fillJournal(c);
    fx.cluster.resume('file0');
    expect((await late)?.codeName).toBe('RESOURCE_EXHAUSTED');
    expect((await c.stats()).usedSlots).toBe(slots.length + filler.length);

    // Free and Duplicate change nothing: a retry later applies them once.
    await expectCode(c.free('app', [slots[0]!]), Status.RESOURCE_EXHAUSTED, /journal cannot grow/);
    await expectCode(c.duplicate('app', [slots[1]!]), Status.RESOURCE_EXHAUSTED);
    await expectCode(c.allocate('app', 4), Status.RESOURCE_EXHAUSTED);
    const infos = await c.inspect('app', slots);
    expect(infos.map((i) => i.count)).toEqual(slots.map(() => 1));
    // Reads go on.
    (await c.load('app', slots)).forEach((p, k) => expect(p.equals(pages[k]!)).toBe(true));
    expect((await c.stats()).journal?.reserveFailures).toBeGreaterThan(0);
    // The late SwapOut's pages were deleted from the backend, not leaked.
    const bs = await until(
      () => c.listBackends(),
      (b) => b[0]!.usedPages === slots.length,
    );
    expect(bs[0]!.usedPages).toBe(slots.length);

    // Room again: the same calls now apply, once.
    await limitCoordinatorFiles(undefined);
    const more = await c.swapOut('app', [randomPage()]);
    expect(await c.free('app', [slots[0]!])).toEqual([0]);
    expect(await c.duplicate('app', [slots[1]!])).toEqual([2]);
    await fx.cluster.kill('coordinator', 'SIGKILL');
    await fx.cluster.startAgain('coordinator');
    expect((await c.inspect('app', slots.slice(1))).map((i) => i.count)).toEqual([2, ...slots.slice(2).map(() => 1)]);
    await expectCode(c.inspect('app', [slots[0]!]), Status.NOT_FOUND);
    (await c.load('app', slots.slice(1))).forEach((p, k) => expect(p.equals(pages[k + 1]!)).toBe(true));
    expect((await c.inspect('app', more.slots))[0]!.count).toBe(1);
    expect((await c.stats()).usedSlots).toBe(slots.length - 1 + 1 + filler.length);
  });

  it('SetOwnerPolicy replies once policies.json is on disk, and a full disk refuses it with the old policy kept', async () => {
    const c = await fx.start({ zswap: false, swapfiles: [{ name: 'file0', capacityPages: 1024 }] });
    expect((await c.setOwnerPolicy('app', { swapMaxPages: 5 })).swapMaxPages).toBe(5);
    await limitCoordinatorFiles(1);
    await expectCode(
      c.setOwnerPolicy('app', { swapMaxPages: 50 }),
      Status.RESOURCE_EXHAUSTED,
      /owner policy not saved/,
    );
    expect((await c.getOwnerPolicy('app')).swapMaxPages).toBe(5);
    await limitCoordinatorFiles(undefined);
    expect((await c.setOwnerPolicy('app', { swapMaxPages: 7 })).swapMaxPages).toBe(7);
    // Acknowledged means on disk: a kill -9 right after the reply keeps it.
    await fx.cluster.kill('coordinator', 'SIGKILL');
    await fx.cluster.startAgain('coordinator');
    expect((await c.getOwnerPolicy('app')).swapMaxPages).toBe(7);
    expect(fs.readdirSync(path.join(fx.dir, 'coordinator')).filter((f) => f.startsWith('policies'))).toEqual([
      'policies.json',
    ]);
  });
});
