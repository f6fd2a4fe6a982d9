import { PAGE_SIZE } from '../common/limits';
import type { Compressor, CompressorResult } from './compressor';
import { expectPage } from './compressor';

/** The part of zstd-napi's low-level binding this compressor uses. */
interface ZstdBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  compressBound(size: number): number;
}

/** Level 1: near lz4's speed with a better ratio (see PERFORMANCE.md). */
export const ZSTD_LEVEL = 1;

/**
 * zstd through zstd-napi's context API: compresses into one preallocated
 * scratch buffer and decompresses straight into the caller's page, so a page
 * costs no allocation at all.
 */
export class ZstdCompressor implements Compressor {
  readonly name = 'zstd' as const;
  private readonly cctx: InstanceType<ZstdBinding['CCtx']>;
  private readonly dctx: InstanceType<ZstdBinding['DCtx']>;
  private readonly scratch: Buffer;

  constructor(binding: ZstdBinding) {
    this.cctx = new binding.CCtx();
    this.dctx = new binding.DCtx();
    this.scratch = Buffer.allocUnsafeSlow(binding.compressBound(PAGE_SIZE));
  }

  compress(page: Uint8Array): Uint8Array {
    const n = this.cctx.compress(this.scratch, page, ZSTD_LEVEL);
    return this.scratch.subarray(0, n);
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    expectPage(this.dctx.decompress(dst, src), 'zstd');
  }
}

/** zstd-napi is an optional dependency (it builds from source): say so when it is missing. */
export function loadZstdCompressor(): CompressorResult {
  let binding: ZstdBinding;
  try {
    binding = require('zstd-napi/binding') as ZstdBinding;
  } catch (err) {
    return {
      ok: false,
      error:
        'zstd needs the optional package zstd-napi, which cannot be loaded ' +
        'here ' +
        `(${err instanceof Error ? err.message.split('\n')[0] : String(err)}); ` +
        'choose lz4 or deflate',
    };
  }
  return { ok: true, value: new ZstdCompressor(binding) };
}
