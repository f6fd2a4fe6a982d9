/**
 * The pool's compression algorithm, as zswap's `compressor` parameter picks
 * one crypto_acomp implementation. One page in, one object out.
 */
import { PAGE_SIZE } from '../common/limits';
import type { CompressorName } from './config';
import { Lz4Compressor } from './compressor-lz4';
import { DeflateCompressor } from './compressor-deflate';
import { loadZstdCompressor } from './compressor-zstd';

export interface Compressor {
  readonly name: CompressorName;
  /**
   * Compresses one page. The result may be a view into a scratch buffer that
   * the next call overwrites: copy it (into the pool) before compressing again.
   */
  compress(page: Uint8Array): Uint8Array;
  /**
   * Decompresses one object into `dst` (exactly PAGE_SIZE bytes). Throws when
   * the object is corrupt or does not expand to exactly one page.
   */
  decompress(src: Uint8Array, dst: Uint8Array): void;
}

export type CompressorResult = { ok: true; value: Compressor } | { ok: false; error: string };

/** The named compressor, or why it cannot be used on this machine. */
export function createCompressor(name: CompressorName): CompressorResult {
  switch (name) {
    case 'lz4':
      return { ok: true, value: new Lz4Compressor() };
    case 'deflate':
      return { ok: true, value: new DeflateCompressor() };
    case 'zstd':
      return loadZstdCompressor();
  }
}

/** Throws unless `out` is exactly one page: a decompressor's last check. */
export function expectPage(length: number, what: string): void {
  if (length !== PAGE_SIZE) throw new Error(`${what} produced ${length} bytes instead of ${PAGE_SIZE}`);
}
