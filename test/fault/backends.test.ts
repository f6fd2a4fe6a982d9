/**
 * Fault suite, backends: fixed seeds, each covering its nemeses at least once,
 * against a cluster of real processes (coordinator, zswap, a swapfile on a
 * file with fsync always, a swapfile on a persistent Redis, the Redis).
 */
import { describe, expect, it } from 'vitest';
import { runFaults } from '../../clients/fault/harness';
import type { NemesisKind } from '../../clients/fault/nemesis';
import { expectPassed } from './fault-run';

describe('fault suite: backends', () => {
  it('kill -9 and restart of zswap, both swapfiles and Redis: only zswap (volatile) loses pages, and says so', async () => {
    const kinds: NemesisKind[] = ['kill-zswap', 'kill-file-swapfile', 'kill-remote-swapfile', 'kill-redis'];
    const r = await runFaults({ seed: 3, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
    // Durable stores never lose: what was lost, the coordinator attributes to zswap only.
    expect(
      Object.keys(r.lostByStore).filter((s) => s !== 'zswap'),
      r.history,
    ).toEqual([]);
  }, 150_000);

  it('SIGSTOP/SIGCONT of a backend and of Redis (hung peers)', async () => {
    const kinds: NemesisKind[] = ['pause-backend', 'pause-redis'];
    const r = await runFaults({ seed: 2, durationMs: 5000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(r.pagesLost, r.history).toBe(0);
  }, 150_000);

  it('a full disk for the file swapfile (RLIMIT_FSIZE: writes fail with EFBIG)', async () => {
    const kinds: NemesisKind[] = ['disk-full'];
    const r = await runFaults({ seed: 3, durationMs: 5000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(r.pagesLost, r.history).toBe(0);
  }, 150_000);
});
