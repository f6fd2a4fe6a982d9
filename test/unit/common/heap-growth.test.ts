/** The heapGrowthPercent option every service declares, and applying it. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/common/config';
import {
  DEFAULT_HEAP_GROWTH_PERCENT,
  applyHeapGrowth,
  checkHeapGrowth,
  heapGrowthOption,
} from '../../../services/common/heap-growth';

const specs = { heapGrowthPercent: heapGrowthOption() };
const load = (argv: string[], env: NodeJS.ProcessEnv) =>
  loadConfig(specs, { program: 'test', envPrefix: 'VSWAP_ZSWAP', argv, env }).heapGrowthPercent;

describe('heap growth option', () => {
  it('defaults to 300 and reads the flag, then the service variable, then the shared one', () => {
    expect(load([], {})).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
    expect(DEFAULT_HEAP_GROWTH_PERCENT).toBe(300);
    expect(load([], { VSWAP_HEAP_GROWTH_PERCENT: '50' })).toBe(50);
    expect(load([], { VSWAP_HEAP_GROWTH_PERCENT: '50', VSWAP_ZSWAP_HEAP_GROWTH_PERCENT: '0' })).toBe(0);
    expect(load(['--heap-growth-percent', '120'], { VSWAP_ZSWAP_HEAP_GROWTH_PERCENT: '0' })).toBe(120);
  });

  it('refuses what is not an integer from 0 to 1000, naming the option', () => {
    expect(() => load(['--heap-growth-percent', '-1'], {})).toThrow(
      /--heap-growth-percent \(VSWAP_ZSWAP_HEAP_GROWTH_PERCENT\): -1 is below the minimum 0/,
    );
    expect(() => load([], { VSWAP_ZSWAP_HEAP_GROWTH_PERCENT: '2.5' })).toThrow(/"2.5" is not an integer/);
    for (const bad of [-1, 2.5, 1001, Number.NaN]) {
      expect(() => applyHeapGrowth(bad)).toThrow(RangeError);
      expect(() => checkHeapGrowth(bad)).toThrow(`heap growth ${bad}% is not an integer from 0 to 1000`);
    }
    for (const good of [0, 300, 1000]) expect(() => checkHeapGrowth(good)).not.toThrow();
  });
});
