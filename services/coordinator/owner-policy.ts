/**
 * Per-owner knobs after the cgroup ones, and the owner name rule of API.md.
 * Policies persist in the data directory (policies.json, replaced atomically).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../common/errors';

export interface OwnerPolicy {
  /** Pages the owner may keep in zswap; 0 = no limit (memory.zswap.max). */
  zswapMaxPages: number;
  /** false = never write this owner's pages back (memory.zswap.writeback = 0). */
  zswapWriteback: boolean;
  /** Live slots the owner may hold; 0 = no limit (memory.swap.max). */
  swapMaxPages: number;
}

export const DEFAULT_POLICY: Readonly<OwnerPolicy> = { zswapMaxPages: 0, zswapWriteback: true, swapMaxPages: 0 };

const OWNER_RE = /^[A-Za-z0-9._/-]{1,128}$/;

/** 1 to 128 characters from [A-Za-z0-9._/-]; INVALID_ARGUMENT otherwise. */
export function checkOwner(owner: string): void {
  if (!OWNER_RE.test(owner)) {
    const shown = owner.length > 40 ? `${owner.slice(0, 40)}...` : owner;
    throw invalidArgument(`owner "${shown}" is invalid: 1 to 128 characters from [A-Za-z0-9._/-]`);
  }
}

export class OwnerPolicies {
  private readonly policies = new Map<string, OwnerPolicy>();
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'policies.json');
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, OwnerPolicy>;
      for (const [owner, p] of Object.entries(saved)) this.policies.set(owner, { ...DEFAULT_POLICY, ...p });
    }
  }

  get(owner: string): Readonly<OwnerPolicy> {
    return this.policies.get(owner) ?? DEFAULT_POLICY;
  }

  set(owner: string, policy: OwnerPolicy): void {
    this.policies.set(owner, { ...policy });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.policies), null, 1));
    fs.renameSync(tmp, this.file);
  }
}
