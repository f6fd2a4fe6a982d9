/**
 * Per-owner knobs after the cgroup ones, and the owner name rule of API.md.
 * Policies persist in the data directory (policies.json, replaced atomically).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { invalidArgument, resourceExhausted, unavailable } from '../common/errors';

export interface OwnerPolicy {
  /** Pages the owner may keep in zswap; 0 = no limit (memory.zswap.max). */
  zswapMaxPages: number;
  /** false = never write this owner's pages back (memory.zswap.writeback = 0). */
  zswapWriteback: boolean;
  /** Live slots the owner may hold; 0 = no limit (memory.swap.max). */
  swapMaxPages: number;
}

export const DEFAULT_POLICY: Readonly<OwnerPolicy> = { zswapMaxPages: 0, zswapWriteback: true, swapMaxPages: 0 };

function isDefault(p: OwnerPolicy): boolean {
  return (
    p.zswapMaxPages === DEFAULT_POLICY.zswapMaxPages &&
    p.zswapWriteback === DEFAULT_POLICY.zswapWriteback &&
    p.swapMaxPages === DEFAULT_POLICY.swapMaxPages
  );
}

const OWNER_RE = /^[A-Za-z0-9._/-]{1,128}$/;

/** 1 to 128 characters from [A-Za-z0-9._/-]; INVALID_ARGUMENT otherwise. */
export function checkOwner(owner: string): void {
  if (!OWNER_RE.test(owner)) {
    const shown = owner.length > 40 ? `${owner.slice(0, 40)}...` : owner;
    throw invalidArgument(`owner "${shown}" is invalid: 1 to 128 characters from [A-Za-z0-9._/-]`);
  }
}

/**
 * The policies, kept in memory and saved to policies.json: written to a temp
 * file, fsynced, renamed over the old one, and the directory fsynced, off the
 * event loop. Saves coalesce: calls arriving while one is being written share
 * the next write, so a burst of SetOwnerPolicy costs two writes, not one each.
 */
export class OwnerPolicies {
  private readonly policies = new Map<string, OwnerPolicy>();
  /** What policies.json holds (to put back an owner whose save failed). */
  private readonly saved = new Map<string, OwnerPolicy>();
  private readonly file: string;
  private writing: Promise<void> | undefined;
  /** Callers waiting for the next write (it starts when the current one ends). */
  private next:
    { owners: Map<string, OwnerPolicy>; waiters: { resolve: () => void; reject: (err: Error) => void }[] } | undefined;
  /** Whole-file writes done (for tests of coalescing). */
  writes = 0;

  constructor(private readonly dataDir: string) {
    this.file = path.join(dataDir, 'policies.json');
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, OwnerPolicy>;
      for (const [owner, p] of Object.entries(saved)) {
        this.policies.set(owner, { ...DEFAULT_POLICY, ...p });
        this.saved.set(owner, { ...DEFAULT_POLICY, ...p });
      }
    }
  }

  get(owner: string): Readonly<OwnerPolicy> {
    return this.policies.get(owner) ?? DEFAULT_POLICY;
  }

  /** Owners with a policy other than the defaults. */
  get size(): number {
    return this.policies.size;
  }

  /**
   * Sets an owner's policy; resolves once it is on disk. It applies at once
   * (later calls see it); if the save fails the owner's saved policy is put
   * back and the error (RESOURCE_EXHAUSTED on a full disk) rejects. A policy
   * of the defaults forgets the owner (policies.json keeps only owners set
   * otherwise), so setting an owner back to the defaults is how its entry goes.
   */
  set(owner: string, policy: OwnerPolicy): Promise<void> {
    const p = { ...policy };
    if (isDefault(p)) this.policies.delete(owner);
    else this.policies.set(owner, p);
    return new Promise((resolve, reject) => {
      if (!this.next) this.next = { owners: new Map(), waiters: [] };
      this.next.owners.set(owner, p);
      this.next.waiters.push({ resolve, reject });
      if (!this.writing) this.startWrite();
    });
  }

  private startWrite(): void {
    const batch = this.next;
    this.next = undefined;
    if (!batch) return;
    const content = JSON.stringify(Object.fromEntries(this.policies), null, 1);
    this.writing = this.write(content).then(
      () => {
        this.writes++;
        for (const [o, p] of batch.owners) {
          if (isDefault(p)) this.saved.delete(o);
          else this.saved.set(o, p);
        }
        for (const w of batch.waiters) w.resolve();
      },
      (err: unknown) => {
        // Put back what is on disk, unless a later call set the owner again.
        for (const [o, p] of batch.owners) {
          // Not if a later call set the owner again (a default policy is no entry).
          if (this.policies.get(o) !== (isDefault(p) ? undefined : p)) continue;
          const old = this.saved.get(o);
          if (old) this.policies.set(o, old);
          else this.policies.delete(o);
        }
        const code = (err as NodeJS.ErrnoException).code;
        const msg = `owner policy not saved: ${(err as Error).message}`;
        const e =
          code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT' ? resourceExhausted(msg) : unavailable(msg);
        for (const w of batch.waiters) w.reject(e);
      },
    );
    void this.writing.finally(() => {
      this.writing = undefined;
      if (this.next) this.startWrite();
    });
  }

  private async write(content: string): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
    const dir = await fsp.open(this.dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
