import { compressSync, uncompressSync } from 'lz4-napi';
import type { Compressor } from './compressor';
import { expectPage } from './compressor';

/**
 * lz4 block format through lz4-napi's synchronous API (the object carries a
 * 4-byte length prefix). lz4-napi has no "compress into this buffer" call, so
 * each page costs one native allocation here; the pool copies it at once.
 */
export class Lz4Compressor implements Compressor {
  readonly name = 'lz4' as const;

  compress(page: Uint8Array): Uint8Array {
    // Pages arrive as Buffers from gRPC: wrap only what is not one already.
    return compressSync(Buffer.isBuffer(page) ? page : Buffer.from(page.buffer, page.byteOffset, page.byteLength));
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    const out = uncompressSync(src);
    expectPage(out.length, 'lz4');
    dst.set(out);
  }
}
