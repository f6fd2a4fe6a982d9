import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { VirtualSwapHandlers } from '../../../proto/generated/vswap/v1/VirtualSwap';
import { Refusals } from '../../../services/common/auth/refusals';
import { AuthGate, type SlotOwnersView } from '../../../services/coordinator/auth/authorize';
import { type PrincipalSet, parsePrincipals } from '../../../services/coordinator/auth/principals';
import { SlotTable } from '../../../services/coordinator/slot-table';
import { turns } from '../../support/fake-backend';

const hash = (t: string): string => createHash('sha256').update(t).digest('hex');

function principals(limits: string, extra = ''): PrincipalSet {
  return parsePrincipals(
    'principals:\n' +
      `  - { name: small, token_sha256: ${hash('small')}, role: client, owners: ["small/*"], limits: ${limits} }\n` +
      `  - { name: admin, token_sha256: ${hash('admin')}, role: admin, owners: ["*"] }\n` +
      extra,
  );
}

/** The slot table as the gate sees it, counting the reads that grow with the cluster's owners. */
function countingView(table: SlotTable): SlotOwnersView & { scans: number; ownerReads: number } {
  const v = {
    scans: 0,
    ownerReads: 0,
    ownerOf: (slot: number) => table.ownerOf(slot),
    owners: () => {
      v.scans++;
      return table.owners();
    },
    ownerCount: () => table.ownerCount(),
    usedSlots: (owner?: string) => {
      v.ownerReads++;
      return table.usedSlots(owner);
    },
    onLiveChange: (l: Parameters<SlotTable['onLiveChange']>[0]) => table.onLiveChange(l),
  };
  return v;
}

type Reply = { slots?: number[]; code?: grpc.status; details?: string };

/**
 * A gate over a real slot table, and handlers that do what the coordinator
 * does to it: SwapOut/Allocate allocate (telling the gate's hook), Free frees.
 * A handler can be held before it allocates, so calls are in flight together.
 */
function gateOver(set: () => PrincipalSet) {
  const table = new SlotTable();
  const view = countingView(table);
  const refusals = new Refusals(pino({ level: 'silent' }));
  const gate = new AuthGate({ principals: set, slots: view, refusals });
  const held: (() => void)[] = [];
  let holding = false;
  const allocate: grpc.handleUnaryCall<unknown, unknown> = (call, cb) => {
    const req = call.request as { owner: string; pages?: unknown[]; count?: number; fail?: boolean };
    const go = (): void => {
      if (req.fail) {
        cb({ code: grpc.status.UNAVAILABLE, details: 'failed by the test', name: 'e', message: 'e' } as never);
        return;
      }
      const r = table.allocate(req.owner, req.pages?.length ?? req.count ?? 0, false);
      if (!r.ok) throw new Error(r.error.message);
      gate.allocationHook(call)?.(r.value.length);
      cb(null, { slots: r.value });
    };
    if (holding) held.push(go);
    else go();
  };
  const free: grpc.handleUnaryCall<unknown, unknown> = (call, cb) => {
    const req = call.request as { owner: string; slots: number[] };
    const r = table.free(req.owner, req.slots);
    if (!r.ok) throw new Error(r.error.message);
    cb(null, { counts: r.value.counts });
  };
  const handlers = gate.wrap({ SwapOut: allocate, Allocate: allocate, Free: free } as unknown as VirtualSwapHandlers);
  const send = (method: 'SwapOut' | 'Allocate' | 'Free', token: string, request: object): Promise<Reply> =>
    new Promise((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      const call = { metadata, getAuthContext: () => ({}), request, cancelled: false };
      (handlers[method] as unknown as grpc.handleUnaryCall<unknown, unknown>)(
        call as never,
        ((err: grpc.ServiceError | null, value?: { slots?: number[] }) =>
          resolve(err ? { code: err.code, details: err.details } : { slots: value?.slots ?? [] })) as never,
      );
    });
  const pages = (n: number): unknown[] => new Array<unknown>(n).fill(0);
  return {
    table,
    view,
    refusals,
    swapOut: (token: string, owner: string, n: number, fail = false) =>
      send('SwapOut', token, { owner, pages: pages(n), fail }),
    free: (token: string, owner: string, slots: number[]) => send('Free', token, { owner, slots }),
    /** Holds the SwapOuts/Allocates admitted from now on before they allocate. */
    hold: () => (holding = true),
    /** Lets every held call allocate, in the order admitted. */
    releaseAll: () => {
      holding = false;
      for (const go of held.splice(0)) go();
    },
    heldCount: () => held.length,
  };
}

describe('principal limits', () => {
  it('cost O(1) per call: no scan of the cluster’s owners, however many there are', async () => {
    const set = principals('{ max_owners: 50, max_slots: 100000 }');
    const g = gateOver(() => set);
    // 20,000 owners of other tenants (made by an admin), before and after the first limited call.
    for (let i = 0; i < 10_000; i++) expect((await g.swapOut('admin', `other/${i}`, 1)).slots).toHaveLength(1);
    expect((await g.swapOut('small', 'small/0', 1)).slots).toHaveLength(1);
    for (let i = 10_000; i < 20_000; i++) await g.swapOut('admin', `other/${i}`, 1);
    // The first limited call counted the owners once; none since.
    const scans = g.view.scans;
    const reads = g.view.ownerReads;
    for (let i = 0; i < 200; i++) {
      const r = await g.swapOut('small', `small/${i % 40}`, 2);
      expect(r.slots).toHaveLength(2);
    }
    expect(g.view.scans).toBe(scans);
    // One owner read per call (is it a new owner?), at most two more per call for its reservation.
    expect(g.view.ownerReads - reads).toBeLessThanOrEqual(200 * 3);
  });

  it('count what owners hold as they gain and lose slots, exactly as a scan would', async () => {
    const set = principals('{ max_owners: 3, max_slots: 10 }');
    const g = gateOver(() => set);
    const a = await g.swapOut('small', 'small/a', 4);
    const b = await g.swapOut('small', 'small/b', 4);
    // An admin's slots for the principal's owners count against it too.
    await g.swapOut('admin', 'small/c', 1);
    expect((await g.swapOut('small', 'small/a', 2)).details).toMatch(/holds 9 slots of its limit 10: 2 more asked/);
    expect((await g.swapOut('small', 'small/d', 1)).details).toMatch(/holds slots for 3 owners, its limit/);
    // Freeing an owner's last slots makes room for another owner, and the slots count down.
    await g.free('small', 'small/b', b.slots!);
    expect((await g.swapOut('small', 'small/d', 1)).slots).toHaveLength(1);
    await g.free('small', 'small/a', a.slots!.slice(0, 2));
    expect((await g.swapOut('small', 'small/a', 4)).slots).toHaveLength(4);
    expect((await g.swapOut('small', 'small/a', 3)).details).toMatch(/holds 8 slots of its limit 10: 3 more asked/);
    expect(g.table.usedSlots()).toBe(8);
  });

  it('reserve at admission: calls in flight together cannot pass max_slots or max_owners, and a call that fails gives its share back', async () => {
    const set = principals('{ max_owners: 2, max_slots: 8, max_in_flight: 0 }');
    const g = gateOver(() => set);
    g.hold();
    const calls = Array.from({ length: 5 }, () => g.swapOut('small', 'small/a', 3));
    await turns(2);
    // Two calls of 3 fit in 8; the other three are refused while those are in flight.
    expect(g.heldCount()).toBe(2);
    // New owners: one more fits (two with small/a), a third does not, nor does a second call's worth of slots.
    const newOwner = g.swapOut('small', 'small/b', 2);
    const another = await g.swapOut('small', 'small/c', 1);
    expect(another.details).toMatch(/holds slots for 0 owners \(and 2 more in calls in flight\)/);
    expect(g.heldCount()).toBe(3);
    g.releaseAll();
    const replies = await Promise.all([...calls, newOwner]);
    expect(replies.filter((r) => r.slots).length).toBe(3);
    expect(replies.filter((r) => r.code === grpc.status.RESOURCE_EXHAUSTED).length).toBe(3);
    expect(g.table.usedSlots()).toBe(8);
    expect(g.table.owners().sort()).toEqual(['small/a', 'small/b']);
    // A call that fails after admission gives its reservation back.
    const b = replies[5]!.slots!;
    await g.free('small', 'small/b', b);
    g.hold();
    const failing = g.swapOut('small', 'small/b', 2, true);
    await turns(2);
    expect((await g.swapOut('small', 'small/c', 1)).details).toMatch(/and 1 more in calls in flight/);
    g.releaseAll();
    expect((await failing).code).toBe(grpc.status.UNAVAILABLE);
    expect((await g.swapOut('small', 'small/c', 2)).slots).toHaveLength(2);
    expect(g.table.usedSlots()).toBe(8);
  });

  it('a reloaded principals file counts the owners again under its limits', async () => {
    let set = principals('{ max_owners: 10, max_slots: 100 }');
    const g = gateOver(() => set);
    await g.swapOut('small', 'small/a', 5);
    await g.swapOut('small', 'small/b', 5);
    set = principals('{ max_owners: 10, max_slots: 12 }');
    expect((await g.swapOut('small', 'small/a', 3)).details).toMatch(/holds 10 slots of its limit 12/);
    expect((await g.swapOut('small', 'small/a', 2)).slots).toHaveLength(2);
  });
});
