/**
 * The operator's calls: Writeback, Swapoff, Swapon and SetOwnerPolicy, and a
 * reconcile with one backend. Each checks its input here, then hands over to
 * the part that does the work (writeback.ts, swapoff.ts, owner-policy.ts,
 * reconcile.ts). The data path is coordinator.ts; the reads are stats.ts.
 */
import { failedPrecondition } from '../common/errors';
import type { AttachedBackend } from './backend-registry';
import type { CallContext } from './call-context';
import type { CoordinatorParts } from './coordinator-parts';
import { DEFAULT_POLICY, type OwnerPolicy, checkOwner } from './owner-policy';
import type { BackendDescription } from './stats';

export class Admin {
  constructor(
    private readonly parts: Pick<
      CoordinatorParts,
      'registry' | 'policies' | 'writeback' | 'swapoff' | 'reconciler' | 'reporting'
    >,
  ) {}

  /**
   * Moves up to maxPages of zswap's coldest pages (of `ownerFilter` only, when
   * not empty) to the next tier down, as zswap's shrinker does; slot ids stay,
   * descriptors flip to TIER_SWAPFILE. Returns the pages moved.
   */
  async writeback(maxPages: number, ownerFilter: string): Promise<number> {
    if (ownerFilter !== '') checkOwner(ownerFilter);
    return this.parts.writeback.run(maxPages, ownerFilter);
  }

  /**
   * Migrates every slot off a backend, reporting progress; it then stays
   * 'off' until Swapon. A caller that goes away (`ctx`) interrupts the drain.
   */
  async swapoff(
    name: string,
    progress: (moved: number, remaining: number) => Promise<void>,
    ctx: CallContext = {},
  ): Promise<number> {
    return this.parts.swapoff.run(this.backend(name), progress, ctx);
  }

  /** Puts a backend (back) in service at `priority`; a drain running on it ends ABORTED. */
  swapon(name: string, priority: number): BackendDescription {
    const b = this.backend(name);
    b.swapon(priority);
    return this.parts.reporting.describeBackend(b);
  }

  /** Replies once the new policy is on disk (policies.json, written atomically). */
  async setOwnerPolicy(owner: string, update: boolean, policy: OwnerPolicy): Promise<OwnerPolicy> {
    checkOwner(owner);
    if (update) await this.parts.policies.set(owner, policy);
    return { ...DEFAULT_POLICY, ...this.parts.policies.get(owner) };
  }

  /** Tells a backend which handles the table references now (the poller does so on every new epoch). */
  reconcile(b: AttachedBackend): Promise<void> {
    return this.parts.reconciler.reconcile(b);
  }

  private backend(name: string): AttachedBackend {
    const b = this.parts.registry.get(name);
    if (!b) throw failedPrecondition(`unknown backend "${name}"; ListBackends shows the configured ones`);
    return b;
  }
}
