/**
 * Issue 10: the dedup crash window. A coordinator killed after a call's
 * journal commit and before its answer reached requests.log used to forget
 * the answer, so the retry applied the call again (a Free twice). The answer
 * is now an answer record in the same journal commit as the change: replay
 * gives it back to the request log. Driven through the real VirtualSwap
 * handlers, journal and request log over an in-process fake backend; the
 * request log's afterCommit seam stops the first call at exactly that point.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningCoordinator, startCoordinator } from '../../../services/coordinator/running-coordinator';
import { type MutatingMethod, RequestLog } from '../../../services/coordinator/request-log';
import { virtualSwapService } from '../../../services/coordinator/virtual-swap-service';
import { invokeUnary as invoke } from '../../support/invoke-handler';
import { FakeBackend, page } from '../../support/fake-backend';

const log = pino({ level: 'silent' });

class Crash extends Error {}

/** One coordinator process's worth: coordinator, request log, handlers. */
interface Life {
  c: RunningCoordinator;
  requests: RequestLog;
  call<Res>(method: string, request: object): Promise<Res>;
}

describe('an answer committed with its change survives a crash before requests.log', () => {
  const dirs: string[] = [];
  const lives: Life[] = [];
  afterEach(async () => {
    for (const l of lives.splice(0)) {
      await l.c.close().catch(() => undefined);
      l.requests.close();
    }
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(dir: string, file0: FakeBackend, crashOn?: MutatingMethod): Promise<Life> {
    const c = await startCoordinator({
      dataDir: dir,
      backends: [{ name: 'file0', address: 'fake:file0', priority: 0 }],
      pollMs: 3_600_000,
      journalFsync: 'always',
      log,
      connect: () => file0,
    });
    let crashed = false;
    const requests = new RequestLog({
      file: path.join(dir, 'requests.log'),
      fsync: 'always',
      replayed: c.takeReplayedAnswers(),
      afterCommit: (m) => {
        if (m === crashOn && !crashed) {
          crashed = true;
          throw new Crash('killed between the journal commit and the requests.log append');
        }
      },
      log,
    });
    c.keepAnswers(() => requests.unpersisted());
    const handlers = virtualSwapService(c, log, requests) as unknown as Record<string, unknown>;
    const life: Life = { c, requests, call: (m, req) => invoke(handlers[m], req) };
    lives.push(life);
    return life;
  }

  /** The process dies: nothing more is written by it (its journal already holds what it committed). */
  async function kill(l: Life): Promise<void> {
    lives.splice(lives.indexOf(l), 1);
    l.requests.close();
    await l.c.close();
  }

  it.each(['Free', 'Load'] as const)(
    'a %s retried after the crash gets the first answer and drops the reference once',
    async (method) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-answer-crash-'));
      dirs.push(dir);
      const file0 = new FakeBackend({ kind: 'swapfile' });
      const first = await start(dir, file0, method);
      const pages = [page('a'), page('b')];
      const { slots } = await first.c.coordinator.swapOut('app', pages, false);
      await first.c.coordinator.duplicate('app', [slots[0]!]); // counts 2, 1
      const req =
        method === 'Free'
          ? { owner: 'app', slots, requestId: 'r-1' }
          : { owner: 'app', slots, release: true, requestId: 'r-1' };
      const handler = method === 'Free' ? 'Free' : 'Load';
      await expect(first.call(handler, req)).rejects.toBeTruthy(); // the process died before it could answer
      expect(fs.readFileSync(path.join(dir, 'requests.log'), 'utf8')).not.toContain('r-1');
      await kill(first);

      // Started again: the retry is answered from the journal's answer record, not applied again.
      const second = await start(dir, file0);
      const again = await second.call<{ counts: number[]; pages?: Buffer[] }>(handler, req);
      expect(again.counts).toEqual([1, 0]);
      if (method === 'Load') again.pages!.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
      expect(second.c.reporting.inspect('app', [slots[0]!])[0]!.count).toBe(1);
      expect(second.c.table.usedSlots()).toBe(1);

      // The start-up snapshot dropped the log the record was in: it carries the answer, and so does requests.log.
      await kill(second);
      const third = await start(dir, file0);
      expect((await third.call<{ counts: number[] }>(handler, req)).counts).toEqual([1, 0]);
      expect(third.c.table.usedSlots()).toBe(1);
      expect(third.requests.stats.replayed).toBe(1);
    },
  );

  it('an answer only the journal has survives a second crash right after start (the start-up snapshot carries it)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-answer-crash-'));
    dirs.push(dir);
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const first = await start(dir, file0, 'Free');
    const { slots } = await first.c.coordinator.swapOut('app', [page('x')], false);
    await first.c.coordinator.duplicate('app', slots);
    await expect(first.call('Free', { owner: 'app', slots, requestId: 'f-1' })).rejects.toBeTruthy();
    await kill(first);
    // Crash again right after start, before the request log wrote anything: only the start-up snapshot has it.
    const second = await startCoordinator({
      dataDir: dir,
      backends: [{ name: 'file0', address: 'fake:file0', priority: 0 }],
      pollMs: 3_600_000,
      log,
      connect: () => file0,
    });
    await second.close();
    const third = await start(dir, file0);
    expect((await third.call<{ counts: number[] }>('Free', { owner: 'app', slots, requestId: 'f-1' })).counts).toEqual([
      1,
    ]);
    expect(third.c.reporting.inspect('app', slots)[0]!.count).toBe(1);
  });
});
