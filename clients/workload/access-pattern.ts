/**
 * Which page a simulated process touches next. One instance per process
 * (sequential keeps a cursor); samplers with large tables are shared.
 */
import type { Rng } from './prng';
import { ZipfSampler } from './zipf-sampler';

export type AccessPatternKind = 'uniform' | 'zipfian' | 'sequential';
export const ACCESS_PATTERNS: readonly AccessPatternKind[] = ['uniform', 'zipfian', 'sequential'];

export interface AccessPattern {
  /** The next page number in [0, pages). */
  next(rng: Rng): number;
}

/** Every page equally likely. */
export class UniformPattern implements AccessPattern {
  constructor(private readonly pages: number) {}
  next(rng: Rng): number {
    return rng.int(this.pages);
  }
}

/**
 * A few hot pages, a long cold tail. Ranks map to pages through a per-process
 * rotation so that different processes have different hot pages.
 */
export class ZipfianPattern implements AccessPattern {
  constructor(
    private readonly sampler: ZipfSampler,
    private readonly offset: number,
  ) {}
  next(rng: Rng): number {
    return (this.sampler.sample(rng) + this.offset) % this.sampler.n;
  }
}

/** Scans every page in order and wraps: the pattern LRU handles worst. */
export class SequentialPattern implements AccessPattern {
  constructor(
    private readonly pages: number,
    private cursor = 0,
  ) {}
  next(): number {
    const p = this.cursor;
    this.cursor = (this.cursor + 1) % this.pages;
    return p;
  }
}

/** Builds patterns for processes of `pages` pages; zipf tables are built once per page count. */
export class AccessPatternFactory {
  private readonly samplers = new Map<number, ZipfSampler>();
  constructor(
    readonly kind: AccessPatternKind,
    readonly zipfExponent = 0.99,
  ) {}

  create(pages: number, rng: Rng): AccessPattern {
    switch (this.kind) {
      case 'uniform':
        return new UniformPattern(pages);
      case 'sequential':
        return new SequentialPattern(pages, rng.int(pages));
      case 'zipfian': {
        let s = this.samplers.get(pages);
        if (!s) this.samplers.set(pages, (s = new ZipfSampler(pages, this.zipfExponent)));
        return new ZipfianPattern(s, rng.int(pages));
      }
    }
  }
}
