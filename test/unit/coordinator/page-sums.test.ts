import { describe, expect, it } from 'vitest';
import { pageChecksums } from '../../../services/common/checksum';
import { PAGE_SIZE } from '../../../services/common/limits';
import { requestDigest } from '../../../services/coordinator/request-log';
import { fakeClusters, page } from '../../support/fake-backend';

/**
 * A SwapOut or Store with a request_id: the service computes the pages'
 * checksums once, for the digest, and the write path keeps those same ones
 * (CallContext.pageSums) instead of computing them again.
 */
describe('page checksums shared by the digest and the write path', () => {
  const cluster = fakeClusters();
  const zero = Buffer.alloc(PAGE_SIZE);

  it('a digest over given checksums is the digest over the pages; checksums for another page list are not used', () => {
    const pages = [page('a'), zero, page('b')];
    const plain = requestDigest('SwapOut', ['o', pages, false]);
    expect(requestDigest('SwapOut', ['o', pages, false], 'checksums', pageChecksums(pages))).toBe(plain);
    const others = pageChecksums([page('x'), page('y')]);
    expect(requestDigest('SwapOut', ['o', pages, false], 'checksums', others)).toBe(plain);
  });

  it('pages written with the checksums given are loaded back whole, a zero page in the zero tier', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const pages = [page('a'), zero, page('b')];
    const out = await c.swapOut('app', pages, false, { pageSums: pageChecksums(pages) });
    expect(out.tiers).toEqual(['TIER_SWAPFILE', 'TIER_ZERO', 'TIER_SWAPFILE']);
    expect(fc.fake('file0').entries.size).toBe(2);
    // Store over the same slots, reversed, with its own checksums.
    const reversed = [...pages].reverse();
    await c.store('app', out.slots, reversed, { pageSums: pageChecksums(reversed) });
    expect((await c.load('app', out.slots, true)).pages).toEqual(reversed);
  });

  it('checksums that do not match the page list in length are ignored: the write path computes its own', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const pages = [page('a'), page('b')];
    const out = await c.swapOut('app', pages, false, { pageSums: pageChecksums([page('x')]) });
    expect((await c.load('app', out.slots, true)).pages).toEqual(pages);
  });
});
