import { expect } from 'vitest';
import type { FaultRunReport } from '../../clients/fault/harness';
import type { NemesisKind } from '../../clients/fault/nemesis';

/** Asserts a fault run kept every rule; on failure the message carries the seed and the history. */
export function expectPassed(r: FaultRunReport, kinds: readonly NemesisKind[]): void {
  const context =
    `seed ${r.seed} (replay: npm run test:fault -- --seed ${r.seed} ` +
    `--duration ${r.durationMs / 1000} --nemeses ` +
    `${kinds.join(',')})\nfailures: ` +
    `${r.failures.join('; ')}\nhistory:\n${r.history}`;
  expect(r.failures, context).toEqual([]);
  expect(r.corruptions, context).toBe(0);
  expect(r.leaks, context).toBe(0);
  expect(r.missing, context).toBe(0);
  expect(r.countMismatches, context).toBe(0);
  expect(r.staleReads + r.foreignReads, context).toBe(0);
  expect(r.unexplainedLosses, context).toBe(0);
  expect(r.hungRequests, context).toBe(0);
  expect(r.unknownErrors, context).toBe(0);
  expect(r.violations, context).toEqual([]);
  expect(r.readsChecked, context).toBeGreaterThan(0);
  for (const k of kinds) expect(r.faults[k] ?? 0, `${k} was never injected\n${context}`).toBeGreaterThan(0);
  // Something was actually stored and read back.
  expect(r.pagesOut, context).toBeGreaterThan(0);
  expect(r.pagesVerified + r.pagesLost, context).toBeGreaterThan(0);
}
