/**
 * Zipf-distributed ranks in [0, n): rank k is drawn with probability
 * proportional to 1 / (k + 1)^exponent. A precomputed CDF (one Float64Array
 * per sampler, shared by every process with the same page count) and a binary
 * search: O(log n) per draw, no allocation.
 */
import type { Rng } from './prng';

export class ZipfSampler {
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly exponent = 0.99,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipf needs at least one item, got ${n}`);
    if (!(exponent >= 0)) throw new RangeError(`zipf exponent must be >= 0, got ${exponent}`);
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, exponent);
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] = this.cdf[k]! / sum;
    this.cdf[n - 1] = 1;
  }

  /** Probability of rank k (for tests and reports). */
  probability(k: number): number {
    if (k < 0 || k >= this.n) return 0;
    return this.cdf[k]! - (k === 0 ? 0 : this.cdf[k - 1]!);
  }

  /** A rank in [0, n): the first k with cdf[k] > u. */
  sample(rng: Rng): number {
    const u = rng.float();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
