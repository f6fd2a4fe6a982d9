import * as zlib from 'node:zlib';
import { PAGE_SIZE } from './limits';

/** The IEEE CRC-32 of some bytes, as zlib computes it. */
type Crc32 = (data: Uint8Array) => number;

/**
 * `@node-rs/crc32` (SIMD, about twice zlib's speed on a 4 KiB page here)
 * gives the same values as zlib, so either may compute or verify a
 * checksum the other made; zlib's when the native module cannot be loaded
 * (a platform without its prebuilt binary, or a tree not yet reinstalled).
 */
function fastestCrc32(): Crc32 {
  try {
    const native = require('@node-rs/crc32') as { crc32: (input: Uint8Array) => number };
    const probe = Buffer.from('vswap');
    if (native.crc32(probe) >>> 0 === zlib.crc32(probe) >>> 0) return native.crc32;
  } catch {
    // not installed or not loadable here: zlib's below
  }
  return zlib.crc32;
}

const crc32 = fastestCrc32();

/**
 * CRC-32 of a page (IEEE, zlib's). Kept per slot by the coordinator and
 * verified on Load: a mismatch is DATA_LOSS, never wrong bytes. Checksums
 * are kept in the journal, so the function never changes.
 */
export function pageChecksum(page: Uint8Array): number {
  return crc32(page) >>> 0;
}

/** The checksum of an all-zero page: a page with any other is not all zeros (no need to look). */
export const ZERO_PAGE_CHECKSUM = pageChecksum(new Uint8Array(PAGE_SIZE));

/**
 * pageChecksum of each page, in order. `known`: checksums the caller already
 * has for these pages, returned as they are when there is one per page.
 */
export function pageChecksums(pages: readonly Uint8Array[], known?: Uint32Array): Uint32Array {
  if (known?.length === pages.length) return known;
  const sums = new Uint32Array(pages.length);
  for (let i = 0; i < pages.length; i++) sums[i] = crc32(pages[i]!) >>> 0;
  return sums;
}
