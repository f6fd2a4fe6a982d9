import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import type { Compressor } from '../../../services/zswap/compressor';
import { Lz4Compressor } from '../../../services/zswap/compressor-lz4';
import { MemoryObjectStore } from '../../../services/zswap/memory-store';
import { Zswap, type ZswapOptions } from '../../../services/zswap/zswap';

const log = pino({ level: 'silent' });
const text = (i: number): Buffer => Buffer.from(`page ${i} `.repeat(600)).subarray(0, 4096);

async function open(overrides: Partial<ZswapOptions> = {}): Promise<Zswap> {
  return Zswap.open({
    compressor: new Lz4Compressor(),
    store: new MemoryObjectStore(),
    poolLimitBytes: 64 * 1024 * 1024,
    acceptThresholdPercent: 90,
    maxCompressedBytes: 3072,
    storeIncompressible: false,
    log,
    ...overrides,
  });
}

const counter = (z: Zswap, name: string): number => z.stats().counters.find((c) => c.name === name)?.value ?? -1;

async function expectCode(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VswapError);
  expect((err as VswapError).code).toBe(code);
  expect((err as VswapError).message).toMatch(message);
}

describe('Zswap core failures the wire cannot provoke', () => {
  it('a corrupt object: decompress_fail counted, DATA_LOSS naming the handle, never other bytes', async () => {
    const lz4 = new Lz4Compressor();
    let corrupt = false;
    const compressor: Compressor = {
      name: 'lz4',
      compress: (p) => lz4.compress(p),
      decompress: (src, dst) => {
        if (corrupt) throw new Error('bad block');
        lz4.decompress(src, dst);
      },
    };
    const z = await open({ compressor });
    const { handles } = await z.put([text(1)]);
    const h = handles[0]!;
    corrupt = true;
    await expectCode(z.get([h], true), status.DATA_LOSS, new RegExp(`handle ${h}`));
    expect(counter(z, 'decompress_fail')).toBe(1);
    expect(counter(z, 'zswpin')).toBe(0);
    corrupt = false;
    expect((await z.get([h], true))[0]!.equals(text(1))).toBe(true);
  });

  it('a compressor that throws: reject_compress_fail, other pages stored', async () => {
    const lz4 = new Lz4Compressor();
    let calls = 0;
    const compressor: Compressor = {
      name: 'lz4',
      compress: (p) => {
        if (calls++ === 1) throw new Error('compressor broke');
        return lz4.compress(p);
      },
      decompress: (s, d) => lz4.decompress(s, d),
    };
    const z = await open({ compressor });
    const res = await z.put([text(1), text(2), text(3)]);
    expect(res.outcomes).toEqual(['PUT_STORED', 'PUT_REJECT_COMPRESS_FAIL', 'PUT_STORED']);
    expect(res.handles[1]).toBe(0);
    expect(counter(z, 'reject_compress_fail')).toBe(1);
    expect(counter(z, 'stored_pages')).toBe(2);
  });

  it('a slab that cannot be allocated: reject_alloc_fail, nothing leaked', async () => {
    let fail = false;
    const store = new MemoryObjectStore({
      allocSlab: (n) => {
        if (fail) throw new Error('ENOMEM');
        return Buffer.alloc(n);
      },
    });
    const z = await open({ store });
    await z.put([text(1)]);
    fail = true;
    const res = await z.put([randomBytes(4096), text(2)]); // poor page rejected first, text fits the held slab
    expect(res.outcomes).toEqual(['PUT_REJECT_COMPRESS_POOR', 'PUT_STORED']);
    const big = await z.put([Buffer.concat([randomBytes(2000), Buffer.alloc(2096)])]); // needs a new class slab
    expect(big.outcomes).toEqual(['PUT_REJECT_ALLOC_FAIL']);
    expect(counter(z, 'reject_alloc_fail')).toBe(1);
    expect(counter(z, 'stored_pages')).toBe(2);
    const info = await z.info();
    expect(info.usedPages).toBe(2);
  });
});
