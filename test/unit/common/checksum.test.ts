import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pageChecksum } from '../../../services/common/checksum';

/** Checksums live in the journal: whichever CRC-32 computes them, they are zlib's values. */
describe('pageChecksum', () => {
  it("is zlib's CRC-32 of the page, as an unsigned 32-bit number", () => {
    const pages = [
      Buffer.alloc(4096),
      Buffer.alloc(4096, 0xff),
      ...Array.from({ length: 200 }, () => randomBytes(4096)),
    ];
    for (const p of pages) {
      const sum = pageChecksum(p);
      expect(sum).toBe(zlib.crc32(p) >>> 0);
      expect(sum).toBeGreaterThanOrEqual(0);
    }
    // A known value: CRC-32 of "123456789" is 0xCBF43926.
    expect(pageChecksum(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('tells apart pages that differ in one bit', () => {
    const a = randomBytes(4096);
    const b = Buffer.from(a);
    b[4095]! ^= 1;
    expect(pageChecksum(a)).not.toBe(pageChecksum(b));
  });
});
