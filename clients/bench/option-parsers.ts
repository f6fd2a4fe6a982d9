/** Parsers for the benchmarks' commander options: a bad value stops the run with commander's message naming the option. */
import { InvalidArgumentError } from 'commander';
import { MAX_HEAP_GROWTH_PERCENT, checkHeapGrowth } from '../../services/common/heap-growth';

/** An option's value as a number; NaN when it is blank, which Number() would take for 0. */
function optionNumber(v: string): number {
  return v.trim() === '' ? NaN : Number(v);
}

/** A whole number of at least 1 (counts: slots, rounds, windows). */
export function positiveInteger(v: string): number {
  const n = optionNumber(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A number above 0 (seconds, counts that a caller rounds). */
export function positiveNumber(v: string): number {
  const n = optionNumber(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** 0 or a number above it (0 turns something off, so a blank value must not pass for it). */
export function nonNegativeNumber(v: string): number {
  const n = optionNumber(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be 0 or a positive number');
  return n;
}

/** A V8 heap growth in percent, as a service's --heap-growth-percent takes it (heap-growth.ts). */
export function heapGrowthPercent(v: string): number {
  const n = optionNumber(v);
  if (Number.isNaN(n))
    throw new InvalidArgumentError(`not a number: heap growth is an integer from 0 to ${MAX_HEAP_GROWTH_PERCENT}`);
  try {
    checkHeapGrowth(n);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return n;
}
