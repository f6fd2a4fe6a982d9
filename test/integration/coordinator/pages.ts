import * as crypto from 'node:crypto';
import { PAGE_SIZE } from '../../../services/common/limits';

/** A page that compresses well (text-like), distinct per seed. */
export function textPage(seed: number): Buffer {
  const line = `slot page ${seed} the quick brown fox jumps over the lazy dog ${seed * 7919}\n`;
  return Buffer.from(line.repeat(Math.ceil(PAGE_SIZE / line.length)).slice(0, PAGE_SIZE));
}

/** A page that does not compress. */
export function randomPage(): Buffer {
  return crypto.randomBytes(PAGE_SIZE);
}

export function zeroPage(): Buffer {
  return Buffer.alloc(PAGE_SIZE);
}

/** A mix: every 5th zero, every 3rd random, the rest text. */
export function mixedPages(n: number, seed = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    i % 5 === 4 ? zeroPage() : i % 3 === 2 ? randomPage() : textPage(seed + i),
  );
}

/** A page that compresses about 2:1 (half random, half zero): fills a pool fast. */
export function halfPage(): Buffer {
  const p = Buffer.alloc(PAGE_SIZE);
  crypto.randomFillSync(p, 0, PAGE_SIZE / 2);
  return p;
}
