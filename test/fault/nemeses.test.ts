/**
 * Fault suite, the nemeses of issue 10: backends restarted faster than the
 * coordinator's poll, both swapfiles at one priority reconciling at once,
 * Redis losing data (restart without persistence, rollback to older files),
 * client deadline storms and cancellations mid-request, a cancelled
 * swapoff, concurrent swapoffs with a swapon mid-drain, and a full disk
 * under the coordinator's journal. Fixed seeds against real processes; the
 * checker's register, loss and hang rules apply to every run.
 */
import { describe, expect, it } from 'vitest';
import { runFaults } from '../../clients/fault/harness';
import type { NemesisKind } from '../../clients/fault/nemesis';
import { expectPassed } from './fault-run';

describe('fault suite: restarts, client cancellations and swapoff races', () => {
  it('a backend killed and restarted before the next Info poll, and both swapfiles of equal priority restarting at once', async () => {
    const kinds: NemesisKind[] = ['fast-restart-backend', 'equal-priority-reconcile'];
    const r = await runFaults({ seed: 5, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
  }, 150_000);

  it('deadline storms and cancellations mid-request, a swapoff cancelled by its client, concurrent swapoffs with a swapon mid-drain', async () => {
    const kinds: NemesisKind[] = ['deadline-storm', 'cancel-swapoff', 'swapoff-swapon-race'];
    const r = await runFaults({ seed: 5, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
    // Nothing was lost: no store lost data in this run.
    expect(r.pagesLost, r.history).toBe(0);
  }, 150_000);
});

describe('fault suite: stores and the journal losing data', () => {
  // Regression: before swapfile handles carried generations and epochs (1f7a40a), remote0 pages read back failing
  // their checksum after Redis lost data, and remote0 kept pages after everything was freed.
  it('Redis restarted without persistence and rolled back to older files: remote0 says which pages it lost, nothing else', async () => {
    const kinds: NemesisKind[] = ['redis-wipe', 'redis-rollback'];
    const r = await runFaults({ seed: 5, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(
      Object.keys(r.lostByStore).filter((s) => s !== 'remote0'),
      r.history,
    ).toEqual([]);
  }, 150_000);

  // Regression: before c7b8c45 the coordinator died of an uncaught EFBIG when its journal could not grow.
  it("a full disk under the coordinator's journal: mutations fail with RESOURCE_EXHAUSTED or UNAVAILABLE, the coordinator stays up and readable", async () => {
    const kinds: NemesisKind[] = ['journal-disk-full'];
    const r = await runFaults({ seed: 5, durationMs: 5000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(r.pagesLost, r.history).toBe(0);
    // The disk did fill: the journal filler was refused for want of room, and nothing else went wrong.
    expect(r.history).toMatch(/filler answers \{[^}]*"RESOURCE_EXHAUSTED"/);
  }, 150_000);
});
