/**
 * --heap-growth-percent (services/common/heap-growth.ts): a bad value stops
 * a service's start, naming the option. What the setting saves (mark-compacts
 * under load) depends on V8's timing, so bench:cluster measures it rather
 * than a test asserting it: with V8's own heuristic the count of
 * mark-compacts in one test's 2000 calls swung from 12 to 34 between runs.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectStartFailure } from '../../support/service';

describe('heap growth', () => {
  it('refuses a bad --heap-growth-percent or VSWAP_HEAP_GROWTH_PERCENT, naming the option', async () => {
    const high = await expectStartFailure({
      entry: 'services/zswap/main.js',
      args: ['--listen', '127.0.0.1:0', '--heap-growth-percent', '2000'],
    });
    expect(high.code).toBe(1);
    expect(high.stderr).toMatch(
      /--heap-growth-percent \(VSWAP_ZSWAP_HEAP_GROWTH_PERCENT\): 2000 is above the maximum 1000/,
    );
    const shared = await expectStartFailure({
      entry: 'services/swapfile/main.js',
      args: ['--listen', '127.0.0.1:0', '--path', path.join(os.tmpdir(), 'vswap-never-created')],
      env: { VSWAP_HEAP_GROWTH_PERCENT: 'lots' },
    });
    expect(shared.code).toBe(1);
    expect(shared.stderr).toMatch(
      /--heap-growth-percent \(VSWAP_SWAPFILE_HEAP_GROWTH_PERCENT\): "lots" is not an integer/,
    );
  });
});
