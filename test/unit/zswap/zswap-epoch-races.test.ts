/**
 * zswap core when its store loses data at an exact point (a fake store over
 * the memory pool: the seam; the real-process Redis tests are in
 * test/integration/zswap/zswap-epochs.test.ts).
 */
import { status } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { Lz4Compressor } from '../../../services/zswap/compressor-lz4';
import { MemoryObjectStore } from '../../../services/zswap/memory-store';
import type { CommitResult, EpochCheck } from '../../../services/zswap/object-store';
import { Zswap } from '../../../services/zswap/zswap';

const log = pino({ level: 'silent' });
const text = (i: number): Buffer => Buffer.from(`page ${i} `.repeat(600)).subarray(0, 4096);

/**
 * The memory pool, plus a loss the test triggers: the next commit says 'lost', the epoch moves on, nothing is
 * recovered.
 */
class LosingStore extends MemoryObjectStore {
  private epochNow = 'e1';
  private reported: string | undefined;
  private loseAtCommit = false;
  loseNext(): void {
    this.loseAtCommit = true;
  }
  override commit(): CommitResult {
    if (!this.loseAtCommit) return 'ok';
    this.loseAtCommit = false;
    this.epochNow = 'e2';
    return 'lost';
  }
  override checkEpoch(): EpochCheck {
    const changed = this.reported !== undefined && this.reported !== this.epochNow;
    this.reported = this.epochNow;
    return { epoch: this.epochNow, changed };
  }
}

async function code(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof VswapError ? e.code : -1),
  );
}

describe('zswap core: the store loses data during a Put', () => {
  it('the Put fails (FAILED_PRECONDITION when it named the old epoch), every entry is forgotten, and no handle comes back', async () => {
    const store = new LosingStore();
    const z = await Zswap.open({
      compressor: new Lz4Compressor(),
      store,
      poolLimitBytes: 1 << 24,
      acceptThresholdPercent: 90,
      maxCompressedBytes: 3072,
      storeIncompressible: false,
      log,
    });
    const before = await z.put([text(1), text(2)], [11, 12], 'e1');
    expect(before.epoch).toBe('e1');
    store.loseNext();
    expect(await code(z.put([text(3)], [13], 'e1'))).toBe(status.FAILED_PRECONDITION);
    expect((await z.info()).epoch).toBe('e2');
    expect((await z.info()).usedPages).toBe(0);
    expect(await code(z.get(before.handles, false, ''))).toBe(status.NOT_FOUND);
    expect(await code(z.get(before.handles, false, 'e1'))).toBe(status.FAILED_PRECONDITION);
    const after = await z.put([text(4), text(5), text(6)], [], 'e2');
    for (const h of after.handles) expect(before.handles).not.toContain(h);
    expect((await z.coldest(3)).map((e) => e.tag)).toEqual([0, 0, 0]);
    // Unchecked Puts are told to retry.
    store.loseNext();
    expect(await code(z.put([text(7)], [], ''))).toBe(status.UNAVAILABLE);
  });
});
