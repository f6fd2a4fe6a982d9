/**
 * What each principal with limits holds, kept up to date as its owners gain
 * and lose live slots, so the gate checks max_owners and max_slots in O(1)
 * per call instead of scanning the cluster's owners. Also what calls admitted
 * but not yet done may still add: a call reserves its slots (and its owner,
 * when new) at admission and gives back what it did not use when it ends, so
 * calls admitted together cannot pass a limit.
 */
import type { LiveListener } from '../slot-table';
import type { Principal, PrincipalSet } from './principals';

/** What the usage reads of the slot table. */
export interface UsageSource {
  /** Owners holding slots. */
  owners(): string[];
  /** Live slots of an owner. */
  usedSlots(owner: string): number;
  onLiveChange(listener: LiveListener): void;
}

/** A principal's holdings over every owner it may act for (whoever made the slots). */
export class Tally {
  /** Owners it may act for that hold live slots. */
  owners = 0;
  /** Live slots over those owners. */
  used = 0;
  /** Slots admitted calls may still allocate. */
  reservedSlots = 0;
  /** Owners holding no live slot when a call for them was admitted: calls in flight for each. */
  readonly pendingOwners = new Map<string, number>();
  /** How many of pendingOwners hold no live slot now (each may become one more owner). */
  pendingNotLive = 0;

  constructor(readonly principal: Principal) {}
}

/** What one admitted call reserved; given back by `consume` as it allocates, and when it ends. */
export class Reservation {
  constructor(
    private readonly source: Pick<UsageSource, 'usedSlots'>,
    private readonly tally: Tally,
    private readonly owner: string,
    private slots: number,
    private ownerHeld: boolean,
  ) {}

  /** The call allocated `n` slots (they now count as used), or ended (`n` = all that is left). */
  consume(n: number = this.slots): void {
    const t = this.tally;
    const k = Math.min(n, this.slots);
    this.slots -= k;
    t.reservedSlots -= k;
    if (this.ownerHeld) {
      this.ownerHeld = false;
      const calls = t.pendingOwners.get(this.owner)!;
      if (calls > 1) t.pendingOwners.set(this.owner, calls - 1);
      else {
        t.pendingOwners.delete(this.owner);
        if (this.source.usedSlots(this.owner) === 0) t.pendingNotLive--;
      }
    }
  }
}

export class PrincipalUsage {
  /** The principal set the tallies are for; a reloaded file starts them again. */
  private set: PrincipalSet | undefined;
  private tallies = new Map<Principal, Tally>();
  private limited: Tally[] = [];

  constructor(private readonly source: UsageSource) {
    source.onLiveChange((owner, delta, live) => this.changed(owner, delta, live));
  }

  /**
   * The tally of principal `p` of `set`, or undefined for one without owner
   * or slot limits. A new set (the file was reloaded) recounts every owner
   * once; calls admitted under the old set keep their reservations there.
   */
  tallyOf(set: PrincipalSet, p: Principal): Tally | undefined {
    if (set !== this.set) this.recount(set);
    return this.tallies.get(p);
  }

  /** Reserves `slots` (and `owner`, when it holds no live slot) on `t` for an admitted call. */
  reserve(t: Tally, owner: string, slots: number): Reservation {
    const isNew = this.source.usedSlots(owner) === 0;
    t.reservedSlots += slots;
    if (isNew) {
      const calls = t.pendingOwners.get(owner) ?? 0;
      if (calls === 0) t.pendingNotLive++;
      t.pendingOwners.set(owner, calls + 1);
    }
    return new Reservation(this.source, t, owner, slots, isNew);
  }

  private recount(set: PrincipalSet): void {
    this.set = set;
    this.limited = set.principals
      .filter((p) => p.limits.maxOwners > 0 || p.limits.maxSlots > 0)
      .map((p) => new Tally(p));
    this.tallies = new Map(this.limited.map((t) => [t.principal, t]));
    if (this.limited.length === 0) return;
    for (const o of this.source.owners()) {
      const n = this.source.usedSlots(o);
      if (n > 0) this.changed(o, n, n);
    }
  }

  /**
   * An owner's live slots changed: every limited principal that may act for
   * it counts the change. O(limited principals): no per-owner state is kept,
   * so owners that come and go cost nothing here once gone.
   */
  private changed(owner: string, delta: number, live: number): void {
    const before = live - delta;
    for (const t of this.limited) {
      if (!t.principal.owners.includes(owner)) continue;
      t.used += delta;
      if (before === 0 && live > 0) {
        t.owners++;
        if (t.pendingOwners.has(owner)) t.pendingNotLive--;
      } else if (before > 0 && live === 0) {
        t.owners--;
        if (t.pendingOwners.has(owner)) t.pendingNotLive++;
      }
    }
  }
}
