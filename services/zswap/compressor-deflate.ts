import * as zlib from 'node:zlib';
import { PAGE_SIZE } from '../common/limits';
import type { Compressor } from './compressor';
import { expectPage } from './compressor';

const DEFLATE_OPTIONS: zlib.ZlibOptions = { level: 1 };
// A corrupt object must not make inflate allocate more than one page.
const INFLATE_OPTIONS: zlib.ZlibOptions = { maxOutputLength: PAGE_SIZE };

/** Raw deflate at level 1 (node:zlib): the slowest, kept for its ratio. */
export class DeflateCompressor implements Compressor {
  readonly name = 'deflate' as const;

  compress(page: Uint8Array): Uint8Array {
    return zlib.deflateRawSync(page, DEFLATE_OPTIONS);
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    const out = zlib.inflateRawSync(src, INFLATE_OPTIONS);
    expectPage(out.length, 'deflate');
    dst.set(out);
  }
}
