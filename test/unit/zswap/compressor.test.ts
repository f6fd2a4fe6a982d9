import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCompressor } from '../../../services/zswap/compressor';
import { loadZstdCompressor } from '../../../services/zswap/compressor-zstd';
import { COMPRESSOR_NAMES } from '../../../services/zswap/config';

const PAGE = 4096;

/** Memory-like pages: text, zero-ish, binary chunks of node itself, random. */
function corpus(): Buffer[] {
  const pages: Buffer[] = [];
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(100));
  pages.push(text.subarray(0, PAGE));
  const sparse = Buffer.alloc(PAGE);
  sparse[17] = 1;
  sparse[4000] = 255;
  pages.push(sparse, Buffer.alloc(PAGE));
  const bin = fs.readFileSync(process.execPath);
  for (let off = 4096 * 100; pages.length < 8; off += 4096 * 977)
    pages.push(Buffer.from(bin.subarray(off, off + PAGE)));
  pages.push(randomBytes(PAGE));
  return pages;
}

const zstdMissing = !loadZstdCompressor().ok;

describe.each(COMPRESSOR_NAMES)('compressor %s', (name) => {
  it.skipIf(name === 'zstd' && zstdMissing)(
    'round-trips memory-like pages byte for ' +
      `byte${name === 'zstd' ? ' (skipped only when the optional zstd-napi binding is missing)' : ''}`,
    () => {
      const made = createCompressor(name);
      if (!made.ok) throw new Error(made.error);
      const c = made.value;
      expect(c.name).toBe(name);
      const objects = corpus().map((p) => ({ page: p, object: Buffer.from(c.compress(p)) })); // copy: results may share a scratch buffer
      for (const { page, object } of objects) {
        const out = Buffer.alloc(PAGE, 0xaa);
        c.decompress(object, out);
        expect(out.equals(page)).toBe(true);
      }
      const zero = objects[2]!;
      expect(zero.object.length).toBeLessThan(100);
    },
  );

  it.skipIf(name === 'zstd' && zstdMissing)('refuses corrupt objects instead of returning wrong bytes', () => {
    const made = createCompressor(name);
    if (!made.ok) throw new Error(made.error);
    const c = made.value;
    const object = Buffer.from(c.compress(corpus()[0]!));
    const out = Buffer.alloc(PAGE);
    expect(() => c.decompress(object.subarray(0, Math.floor(object.length / 2)), out)).toThrow();
    expect(() => c.decompress(Buffer.from([1, 2, 3]), out)).toThrow();
  });
});
