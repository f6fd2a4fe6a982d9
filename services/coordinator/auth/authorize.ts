/**
 * The coordinator's gate at the service edge: every vswap.v1.VirtualSwap call
 * is authenticated (authenticate.ts), then checked against what its principal
 * may do, before the handler runs:
 * - SwapOut, Allocate, Store, Load, Duplicate, Free: only for an owner the
 *   principal may act for (PERMISSION_DENIED otherwise); a slot of an owner it
 *   may not see is answered exactly as a slot that does not exist (NOT_FOUND,
 *   "slot N is not allocated"), so ids cannot be probed;
 * - Inspect, Stats with an owner, SetOwnerPolicy without update: its owners, or
 *   any owner for an admin; Stats without an owner shows a client only its owners;
 * - Writeback, Swapoff, Swapon, SetOwnerPolicy with update: admins only;
 * - ListBackends: anyone authenticated;
 * - limits: calls in flight per principal, owners and live slots per principal
 *   over all its owners, owners in the cluster (RESOURCE_EXHAUSTED past them).
 * Every refusal is logged and counted once (refusals.ts). Owner and slot
 * limits cost O(1) per call whatever the cluster holds (usage.ts keeps each
 * principal's counts as owners gain and lose slots), and an admitted call
 * reserves its slots (and its owner, when new) until it allocates or ends, so
 * calls admitted together cannot pass max_slots or max_owners. The cluster's
 * max_owners_total is checked, not reserved: calls admitted together may pass
 * it by at most their own owners.
 */
import * as grpc from '@grpc/grpc-js';
import { statusError } from '../../common/errors';
import type { Refusals, RefusalReason } from '../../common/auth/refusals';
import type { VirtualSwapHandlers } from '../../../proto/generated/vswap/v1/VirtualSwap';
import { authenticate } from './authenticate';
import type { Principal, PrincipalSet } from './principals';
import { type LiveListener, notAllocatedMessage, slotOfOtherOwner } from '../slot-table';
import { PrincipalUsage, type Reservation, type Tally } from './usage';

/** What the gate reads of the slot table. */
export interface SlotOwnersView {
  ownerOf(slot: number): string | undefined;
  /** Owners holding slots (clusters). */
  owners(): string[];
  ownerCount(): number;
  usedSlots(owner?: string): number;
  /** Tells the listener each change of an owner's live slots (the principals' counts follow). */
  onLiveChange(listener: LiveListener): void;
}

type Rule =
  /** Acts for req.owner; `newSlots`: slots the call may create (limits). */
  | { kind: 'owner'; newSlots?: (req: never) => number }
  /** Reads req.owner: its own, or an admin. */
  | { kind: 'read' }
  | { kind: 'stats' }
  | { kind: 'policy' }
  | { kind: 'admin' }
  | { kind: 'any' };

type Method =
  | 'SwapOut'
  | 'Allocate'
  | 'Store'
  | 'Load'
  | 'Duplicate'
  | 'Free'
  | 'Inspect'
  | 'Stats'
  | 'SetOwnerPolicy'
  | 'Writeback'
  | 'Swapoff'
  | 'Swapon'
  | 'ListBackends';
/** The error a unary handler answers with. */
type HandlerError = NonNullable<Parameters<grpc.sendUnaryData<unknown>>[0]>;

const RULES: Record<Method, Rule> = {
  SwapOut: { kind: 'owner', newSlots: (req: { pages: unknown[] }) => req.pages.length },
  Allocate: { kind: 'owner', newSlots: (req: { count: number }) => req.count },
  Store: { kind: 'owner' },
  Load: { kind: 'owner' },
  Duplicate: { kind: 'owner' },
  Free: { kind: 'owner' },
  Inspect: { kind: 'read' },
  Stats: { kind: 'stats' },
  SetOwnerPolicy: { kind: 'policy' },
  Writeback: { kind: 'admin' },
  Swapoff: { kind: 'admin' },
  Swapon: { kind: 'admin' },
  ListBackends: { kind: 'any' },
};

type Refusal = { code: grpc.status; reason: RefusalReason; message: string };
/** A call that may create slots, admitted within its principal's limits: what it reserves. */
type Within = { tally: Tally; owner: string; more: number };
type Admission =
  | { ok: true; principal: Principal; release: () => void; reservation: Reservation | undefined }
  | { ok: false; error: grpc.ServiceError };

interface Counter {
  name: string;
  value: number;
}
interface StatsLike {
  usedSlots: number | string;
  swapOuts: number | string;
  swapIns: number | string;
  pagesByTier: Counter[];
  owners: {
    owner: string;
    usedSlots: number | string;
    swapOuts: number | string;
    swapIns: number | string;
    pagesByTier: Counter[];
  }[];
}

function shown(owner: string): string {
  return owner.length > 40 ? `${owner.slice(0, 40)}...` : owner;
}

export interface AuthGateOptions {
  /** The principals now (the file may be reloaded between calls). */
  principals: () => PrincipalSet;
  slots: SlotOwnersView;
  refusals: Refusals;
}

export class AuthGate {
  /** Calls in flight per principal name. */
  private readonly inFlight = new Map<string, number>();
  /** Owners and slots per limited principal, and what admitted calls reserved. */
  private readonly usage: PrincipalUsage;
  /** The reservation of each admitted call that may create slots, for the handler's allocation hook. */
  private readonly reservations = new WeakMap<object, Reservation>();

  constructor(private readonly o: AuthGateOptions) {
    this.usage = new PrincipalUsage(o.slots);
  }

  /**
   * For the handler of an admitted call (SwapOut, Allocate): called right
   * after the slot table allocated `n` slots for it, so its reservation turns
   * into used slots in the same turn (CallContext.onAllocated). Undefined for
   * a call that reserved nothing.
   */
  allocationHook(call: object): ((n: number) => void) | undefined {
    const r = this.reservations.get(call);
    return r && ((n) => r.consume(n));
  }

  /** The handlers, each behind the gate. */
  wrap(handlers: VirtualSwapHandlers): VirtualSwapHandlers {
    const out: Record<string, unknown> = {};
    for (const method of Object.keys(RULES) as Method[]) {
      const inner = handlers[method] as unknown;
      out[method] =
        method === 'Swapoff'
          ? this.streaming(method, inner as grpc.handleServerStreamingCall<unknown, unknown>)
          : this.unary(method, inner as grpc.handleUnaryCall<unknown, unknown>);
    }
    return out as unknown as VirtualSwapHandlers;
  }

  /** Calls in flight now for a principal (tests, metrics). */
  callsInFlight(principal: string): number {
    return this.inFlight.get(principal) ?? 0;
  }

  private unary(method: Method, inner: grpc.handleUnaryCall<unknown, unknown>): grpc.handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const a = this.admit(method, call);
      if (!a.ok) {
        callback(a.error);
        return;
      }
      const { principal, release, reservation } = a;
      if (reservation) this.reservations.set(call, reservation);
      inner(call, (err, value, trailer, flags) => {
        release();
        reservation?.consume();
        if (err) callback(this.hideSlots(principal, method, err), value, trailer, flags);
        else callback(null, this.filter(principal, method, call.request, value), trailer, flags);
      });
    };
  }

  private streaming(
    method: Method,
    inner: grpc.handleServerStreamingCall<unknown, unknown>,
  ): grpc.handleServerStreamingCall<unknown, unknown> {
    return (call) => {
      const a = this.admit(method, call);
      if (!a.ok) {
        call.emit('error', a.error);
        return;
      }
      // A stream (Swapoff, admins only) is not counted in flight: it may run for minutes; it reserves no slots.
      a.release();
      a.reservation?.consume();
      inner(call);
    };
  }

  private admit(
    method: Method,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ): Admission {
    const set = this.o.principals();
    const who = authenticate(set, call.metadata, call.getAuthContext());
    if (!who.ok) {
      this.o.refusals.refuse(undefined, method, who.reason, who.message);
      return { ok: false, error: statusError(grpc.status.UNAUTHENTICATED, who.message) };
    }
    const p = who.principal;
    const checked = this.authorize(set, p, method, call.request as Record<string, unknown>);
    if (checked && 'code' in checked) {
      this.o.refusals.refuse(p.name, method, checked.reason, checked.message);
      return { ok: false, error: statusError(checked.code, checked.message) };
    }
    const n = this.inFlight.get(p.name) ?? 0;
    if (p.limits.maxInFlight > 0 && n >= p.limits.maxInFlight) {
      const message = `principal "${p.name}" has ${n} calls in flight, its limit`;
      this.o.refusals.refuse(p.name, method, 'max_in_flight', message);
      return { ok: false, error: statusError(grpc.status.RESOURCE_EXHAUSTED, message) };
    }
    this.inFlight.set(p.name, n + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(p.name) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(p.name);
      else this.inFlight.set(p.name, left);
    };
    const reservation = checked && this.usage.reserve(checked.tally, checked.owner, checked.more);
    return { ok: true, principal: p, release, reservation };
  }

  /** A refusal, or for a call that may create slots under limits what it is to reserve; undefined: allowed. */
  private authorize(
    set: PrincipalSet,
    p: Principal,
    method: Method,
    req: Record<string, unknown>,
  ): Refusal | Within | undefined {
    const rule = RULES[method];
    const owner = typeof req.owner === 'string' ? req.owner : '';
    const notOwner = (): Refusal => ({
      code: grpc.status.PERMISSION_DENIED,
      reason: 'owner_not_allowed',
      message: `principal "${p.name}" may not act for owner "${shown(owner)}"`,
    });
    const adminOnly = (): Refusal => ({
      code: grpc.status.PERMISSION_DENIED,
      reason: 'admin_only',
      message: `${method} is for admins: principal "${p.name}" is a client`,
    });
    const readable = p.role === 'admin' || p.owners.includes(owner);
    switch (rule.kind) {
      case 'any':
        return undefined;
      case 'admin':
        return p.role === 'admin' ? undefined : adminOnly();
      case 'read':
        return readable ? undefined : notOwner();
      case 'stats':
        return owner === '' || readable ? undefined : notOwner();
      case 'policy':
        if (req.update === true) return p.role === 'admin' ? undefined : adminOnly();
        return readable ? undefined : notOwner();
      case 'owner':
        if (!p.owners.includes(owner)) return notOwner();
        return rule.newSlots ? this.checkLimits(set, p, owner, rule.newSlots(req as never)) : undefined;
    }
  }

  /**
   * Owners and slots a call that may create `more` slots for `owner` would
   * bring the principal and the cluster to, counting what calls admitted
   * before it reserved. O(1): the counts are kept (usage.ts).
   */
  private checkLimits(set: PrincipalSet, p: Principal, owner: string, more: number): Refusal | Within | undefined {
    const { slots } = this.o;
    const isNew = slots.usedSlots(owner) === 0;
    if (isNew && set.maxOwnersTotal > 0 && slots.ownerCount() >= set.maxOwnersTotal)
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'max_owners_total',
        message: `the cluster holds its limit of ${set.maxOwnersTotal} owners: owner "${shown(owner)}" cannot be added`,
      };
    const t = this.usage.tallyOf(set, p);
    if (t === undefined) return undefined;
    const { maxOwners, maxSlots } = p.limits;
    // Owners it holds slots for, and new ones calls in flight may add (this one's owner once).
    const owners = t.owners + t.pendingNotLive;
    const adds = isNew && !t.pendingOwners.has(owner) ? 1 : 0;
    if (isNew && maxOwners > 0 && owners + adds > maxOwners)
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'max_owners',
        message:
          `principal "${p.name}" holds slots for ${t.owners} owners` +
          (t.pendingNotLive > 0 ? ` (and ${t.pendingNotLive} more in calls in flight)` : '') +
          `, its limit: owner "${shown(owner)}" cannot be added`,
      };
    const used = t.used + t.reservedSlots;
    if (maxSlots > 0 && used + more > maxSlots)
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'max_slots',
        message:
          `principal "${p.name}" holds ${t.used} slots` +
          (t.reservedSlots > 0 ? ` (and ${t.reservedSlots} more in calls in flight)` : '') +
          ` of its limit ${maxSlots}: ${more} more asked`,
      };
    return { tally: t, owner, more };
  }

  /** A slot of an owner the principal may not see is answered as a slot that does not exist. */
  private hideSlots(p: Principal, method: Method, err: HandlerError): HandlerError {
    if (err.code !== grpc.status.PERMISSION_DENIED || typeof err.details !== 'string') return err;
    const slot = slotOfOtherOwner(err.details);
    if (slot === undefined) return err;
    const owner = this.o.slots.ownerOf(slot);
    if (owner !== undefined && p.owners.includes(owner)) return err;
    this.o.refusals.refuse(p.name, method, 'slot_not_visible', `slot ${slot} of an owner it may not see`);
    return statusError(grpc.status.NOT_FOUND, notAllocatedMessage(slot));
  }

  /** Stats without an owner shows a client its owners only, and totals over them. */
  private filter(p: Principal, method: Method, req: unknown, value: unknown): unknown {
    if (method !== 'Stats' || p.role === 'admin' || (req as { owner: string }).owner !== '') return value;
    const s = value as StatsLike;
    const owners = s.owners.filter((o) => p.owners.includes(o.owner));
    const tiers = new Map<string, number>(s.pagesByTier.map((c) => [c.name, 0]));
    let usedSlots = 0;
    let swapOuts = 0;
    let swapIns = 0;
    for (const o of owners) {
      usedSlots += Number(o.usedSlots);
      swapOuts += Number(o.swapOuts);
      swapIns += Number(o.swapIns);
      for (const c of o.pagesByTier) tiers.set(c.name, (tiers.get(c.name) ?? 0) + Number(c.value));
    }
    return {
      ...s,
      owners,
      usedSlots,
      swapOuts,
      swapIns,
      pagesByTier: [...tiers].map(([name, v]) => ({ name, value: v })),
    };
  }
}
