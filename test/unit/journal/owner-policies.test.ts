import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { DEFAULT_POLICY, OwnerPolicies } from '../../../services/coordinator/owner-policy';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-policies-'));
  dirs.push(d);
  return d;
}

describe('owner policies on disk', () => {
  it('a burst of changes shares writes, each call resolves once its change is on disk, and a reload sees them all', async () => {
    const dir = tmpDir();
    const p = new OwnerPolicies(dir);
    const calls = Array.from({ length: 200 }, (_, i) =>
      p.set(`owner-${i}`, { ...DEFAULT_POLICY, swapMaxPages: i + 1 }),
    );
    await Promise.all(calls);
    expect(p.writes).toBeLessThanOrEqual(2);
    expect(fs.readdirSync(dir)).toEqual(['policies.json']);
    const again = new OwnerPolicies(dir);
    for (let i = 0; i < 200; i++) expect(again.get(`owner-${i}`).swapMaxPages).toBe(i + 1);
    // A change after the burst resolves after its own write.
    await p.set('owner-7', { ...DEFAULT_POLICY, zswapWriteback: false });
    expect(new OwnerPolicies(dir).get('owner-7')).toEqual({ ...DEFAULT_POLICY, zswapWriteback: false });
  });

  it('a save that fails rejects and puts the saved policy back', async () => {
    const dir = tmpDir();
    const p = new OwnerPolicies(dir);
    await p.set('app', { ...DEFAULT_POLICY, swapMaxPages: 10 });
    fs.rmSync(dir, { recursive: true }); // nowhere to write the temp file
    const err = await p.set('app', { ...DEFAULT_POLICY, swapMaxPages: 99 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VswapError);
    expect((err as VswapError).code).toBe(Status.UNAVAILABLE);
    expect((err as VswapError).message).toMatch(/owner policy not saved/);
    expect(p.get('app').swapMaxPages).toBe(10);
  });
});
