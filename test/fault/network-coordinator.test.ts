/**
 * Fault suite, network and coordinator: a TCP proxy between the coordinator
 * and every backend (delay, partition, reset), and the coordinator killed,
 * paused, and killed during writeback and during swapoff.
 *
 * Regression seeds: seed 2 with net-reset found deletes that stopped being
 * sent after the first failed one (every later freed page leaked on its
 * backend); seed 2 with net-blackhole found pages stored by a Put whose
 * reply timed out, leaked under handles the coordinator never learned.
 */
import { describe, expect, it } from 'vitest';
import { runFaults } from '../../clients/fault/harness';
import type { NemesisKind } from '../../clients/fault/nemesis';
import { expectPassed } from './fault-run';

describe('fault suite: network and coordinator', () => {
  it('slow, partitioned and reset links between the coordinator and its backends (regression: seed 2)', async () => {
    const kinds: NemesisKind[] = ['net-delay', 'net-blackhole', 'net-reset'];
    const r = await runFaults({ seed: 2, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(r.pagesLost, r.history).toBe(0);
  }, 150_000);

  it('coordinator kill -9, pause, and restart during writeback and during swapoff: recovers every acknowledged page', async () => {
    const kinds: NemesisKind[] = [
      'kill-coordinator',
      'pause-coordinator',
      'restart-during-writeback',
      'restart-during-swapoff',
    ];
    const r = await runFaults({ seed: 4, durationMs: 6000, nemeses: kinds });
    expectPassed(r, kinds);
    expect(r.pagesLost, r.history).toBe(0);
    // Each restart was measured until the coordinator served again.
    expect(r.recoveries.length, r.history).toBeGreaterThanOrEqual(3);
    for (const rec of r.recoveries) expect(rec.ms).toBeGreaterThan(0);
  }, 150_000);
});
