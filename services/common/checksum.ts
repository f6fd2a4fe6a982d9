import * as zlib from 'node:zlib';

/**
 * CRC-32 of a page (zlib's, native since Node 20.15). Kept per slot by the
 * coordinator and verified on Load: a mismatch is DATA_LOSS, never wrong bytes.
 */
export function pageChecksum(page: Uint8Array): number {
  return zlib.crc32(page) >>> 0;
}
