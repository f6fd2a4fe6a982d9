/** Parsers for the benchmarks' commander options: a bad value stops the run with commander's message naming the option. */
import { InvalidArgumentError } from 'commander';

/** A whole number of at least 1 (counts: slots, rounds, windows). */
export function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
