/**
 * The fault checker cannot miss: histories that contain each bug class
 * (stale read, lost acknowledgement, unexplained DATA_LOSS, hang, orphaned
 * slot, UNKNOWN from the cluster) are fed to the checker's parts, and the
 * rules must flag every one of them while passing the clean ones.
 */
import { describe, expect, it } from 'vitest';
import { HangTracker } from '../../../clients/fault/hang-tracker';
import { LossLedger } from '../../../clients/fault/loss-ledger';
import { RegisterChecker, slotKey } from '../../../clients/fault/register-check';
import { type RunFigures, brokenRules } from '../../../clients/fault/verdict';

const A = 0xaaaa;
const B = 0xbbbb;
const C = 0xcccc;
const K = slotKey('alice', 7);

function clean(over: Partial<RunFigures> = {}): RunFigures {
  return {
    corruptions: 0,
    missing: 0,
    countMismatches: 0,
    leaks: 0,
    durableLoss: {},
    unreadable: {},
    healthy: true,
    staleReads: 0,
    foreignReads: 0,
    unexplainedLosses: 0,
    hungRequests: 0,
    ambiguous: {},
    unknownErrors: 0,
    orphanedSlots: 0,
    retriesSettleAll: true,
    ...over,
  };
}

/** A write invoked and acknowledged before anything that follows. */
function acked(r: RegisterChecker, key: string, crc: number): void {
  r.write(key, crc, r.now(), 'ok');
}

describe('register check', () => {
  it('passes a read of the latest acknowledged write', () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    acked(r, K, B);
    const t = r.readStarted();
    expect(r.readEnded(K, B, t).ok).toBe(true);
    expect(r.staleReads + r.foreignReads).toBe(0);
    expect(brokenRules(clean({ staleReads: r.staleReads }))).toEqual([]);
  });

  it('flags a read that returns a value superseded before the read began (stale read)', () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    acked(r, K, B);
    const t = r.readStarted();
    const v = r.readEnded(K, A, t);
    expect(v).toMatchObject({ ok: false, kind: 'stale' });
    expect(r.staleReads).toBe(1);
    expect(r.problems[0]).toMatch(/STALE READ .*alice slot 7/);
    expect(brokenRules(clean({ staleReads: r.staleReads })).join('\n')).toMatch(/1 stale read/);
  });

  it('allows either value while a write is concurrent with the read, and only the new one after it', () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    const w = r.now(); // B's Store is sent
    const t1 = r.readStarted();
    expect(r.readEnded(K, A, t1).ok).toBe(true); // B not yet acknowledged: A is fine...
    const t2 = r.readStarted();
    r.write(K, B, w, 'ok'); // ...B acknowledged while the second read is in flight
    expect(r.readEnded(K, A, t2).ok).toBe(true);
    const t3 = r.readStarted();
    expect(r.readEnded(K, B, t3).ok).toBe(true);
    const t4 = r.readStarted();
    expect(r.readEnded(K, A, t4).ok).toBe(false); // B was acknowledged before this read began
    expect(r.staleReads).toBe(1);
  });

  it('keeps a write of unknown outcome possible for every later read, but not a write that failed', () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    r.write(K, B, r.now(), 'unknown');
    r.write(K, C, r.now(), 'failed');
    for (const crc of [A, B]) {
      const t = r.readStarted();
      expect(r.readEnded(K, crc, t).ok).toBe(true);
    }
    const t = r.readStarted();
    expect(r.readEnded(K, C, t)).toMatchObject({
      ok: false,
      kind: 'stale',
      detail: expect.stringMatching(/a write that failed/),
    });
  });

  it("flags a value never written to the slot (foreign read), e.g. another slot's page", () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    acked(r, slotKey('alice', 8), C);
    const t = r.readStarted();
    expect(r.readEnded(K, C, t)).toMatchObject({ ok: false, kind: 'foreign' });
    expect(brokenRules(clean({ foreignReads: r.foreignReads })).join('\n')).toMatch(/foreign read/);
  });

  it('flags a lost acknowledgement: the final read-back returns the value from before an acknowledged write', () => {
    const r = new RegisterChecker();
    for (let i = 0; i < 40; i++) acked(r, K, 1000 + i); // old values pruned, the last ones kept
    const t = r.readStarted();
    expect(r.readEnded(K, 1038, t, 'final read-back').ok).toBe(false);
    expect(r.staleReads).toBe(1);
    // A lost acknowledgement seen as NOT_FOUND is "missing": also a broken rule.
    expect(brokenRules(clean({ missing: 1 })).join('\n')).toMatch(/acknowledged page\(s\) unknown/);
  });

  it('a read still in flight keeps the writes it may return when later writes would prune them', () => {
    const r = new RegisterChecker();
    acked(r, K, A);
    const t = r.readStarted();
    for (let i = 0; i < 40; i++) acked(r, K, 2000 + i);
    expect(r.readEnded(K, A, t).ok).toBe(true);
  });
});

describe('loss ledger', () => {
  it("explains DATA_LOSS by a volatile store's reported loss, and nothing else", () => {
    const l = new LossLedger();
    l.seen(slotKey('a', 1), A, 'slot 1 lost its data: its backend restarted without it');
    l.seen(slotKey('a', 1), A, 'slot 1 lost its data: its backend restarted without it'); // same page, read twice
    l.seen(slotKey('a', 2), B, 'slot 2 lost its data: its backend restarted without it');
    expect(l.explain({ zswap: 5 }, new Set(['zswap']))).toMatchObject({ seen: 2, explained: 2, unexplained: 0 });
  });

  it('flags DATA_LOSS on a store that did not lose data (file store, persistent Redis)', () => {
    const l = new LossLedger();
    l.seen(slotKey('a', 1), A, 'slot 1 lost its data: its backend restarted without it');
    const e = l.explain({ file0: 1 }, new Set(['zswap']));
    expect(e.unexplained).toBe(1);
    expect(e.problems[0]).toMatch(/UNEXPLAINED DATA_LOSS a slot 1/);
    const text = brokenRules(clean({ unexplainedLosses: e.unexplained, durableLoss: { file0: 1 } })).join('\n');
    expect(text).toMatch(/1 DATA_LOSS page\(s\) that no store loss explains/);
    expect(text).toMatch(/may not lose data lost pages: \{"file0":1\}/);
  });

  it('flags more DATA_LOSS pages than the volatile stores lost, and a checksum failure always', () => {
    const l = new LossLedger();
    l.seen(slotKey('a', 1), A, 'slot 1 lost its data: its backend restarted without it');
    l.seen(slotKey('a', 2), A, 'slot 2 lost its data: its backend restarted without it');
    l.seen(slotKey('a', 3), A, 'slot 3 failed its checksum on backend zswap');
    expect(l.explain({ zswap: 1 }, new Set(['zswap']))).toMatchObject({ seen: 3, explained: 1, unexplained: 2 });
    // A Redis restarted without persistence may lose: then remote0's report explains.
    const l2 = new LossLedger();
    l2.seen(slotKey('a', 4), A, 'slot 4 lost its data: its backend restarted without it');
    expect(l2.explain({ remote0: 1 }, new Set(['zswap'])).unexplained).toBe(1);
    expect(l2.explain({ remote0: 1 }, new Set(['zswap', 'remote0'])).unexplained).toBe(0);
  });

  it('explains a page found gone from a volatile backend before reconcile, and flags one gone from a durable backend', () => {
    const l = new LossLedger();
    l.seen(slotKey('a', 1), A, 'backend zswap no longer has a page of slots 1: handle 5 is not stored in zswap');
    expect(l.explain({}, new Set(['zswap'])).unexplained).toBe(0);
    expect(l.explain({}, new Set()).unexplained).toBe(1); // zswap never restarted: it had no reason to lose it
    const l3 = new LossLedger();
    l3.seen(
      slotKey('a', 3),
      A,
      'backend remote0: handle 7207 is allocated but its page is missing from the redis store',
    );
    expect(l3.explain({}, new Set(['remote0'])).unexplained).toBe(0); // Redis lost it: allowed after a wipe or rollback
    expect(l3.explain({}, new Set(['zswap'])).problems[0]).toMatch(/remote0 may not lose pages/);
    const l2 = new LossLedger();
    l2.seen(slotKey('a', 2), A, 'backend file0 no longer has a page of slots 2: handle 3 not found');
    expect(l2.explain({ zswap: 10 }, new Set(['zswap'])).problems[0]).toMatch(/file0 may not lose pages/);
  });
});

describe('hang tracker', () => {
  it('counts a request unanswered past its bound once, and not one answered in time', () => {
    let now = 0;
    const h = new HangTracker(() => now);
    const quick = h.begin('load alice [1]', 1000);
    const stuck = h.begin('swapoff file0', 1000);
    now = 500;
    h.end(quick);
    now = 1500;
    expect(h.sweep()).toBe(1);
    now = 5000;
    expect(h.sweep()).toBe(0); // counted once
    expect(h.hung).toBe(1);
    expect(h.problems[0]).toMatch(/HUNG swapoff file0/);
    h.end(stuck);
    expect(h.pending).toBe(0);
    expect(brokenRules(clean({ hungRequests: h.hung })).join('\n')).toMatch(/1 request\(s\) not answered/);
  });
});

describe('rules', () => {
  it('a clean run passes', () => {
    expect(brokenRules(clean())).toEqual([]);
  });

  it('flags orphaned slots and requests left ambiguous when the coordinator deduplicates (retries could settle them)', () => {
    expect(brokenRules(clean({ orphanedSlots: 3 })).join('\n')).toMatch(/3 orphaned slot/);
    expect(brokenRules(clean({ ambiguous: { swapOut: 2 } })).join('\n')).toMatch(/outcome stayed unknown/);
    // Without dedup they are reported only (a retry could apply twice); leaks still fail.
    expect(brokenRules(clean({ retriesSettleAll: false, orphanedSlots: 3, ambiguous: { swapOut: 2 } }))).toEqual([]);
    expect(brokenRules(clean({ retriesSettleAll: false, leaks: 1 })).length).toBe(1);
  });

  it('flags every rule a nemesis saw broken (a backend left draining)', () => {
    expect(brokenRules(clean({ violations: ['file0 left draining after its swapoff ended'] }))).toEqual([
      'file0 left draining after its swapoff ended',
    ]);
  });

  it('flags UNKNOWN answers from the cluster, corruptions, count mismatches and an unhealthy end', () => {
    const text = brokenRules(
      clean({ unknownErrors: 1, corruptions: 1, countMismatches: 1, healthy: false, unreadable: { INTERNAL: 2 } }),
    ).join('\n');
    for (const m of [/UNKNOWN error/, /corruption/, /swap count/, /not come back healthy/, /unreadable/])
      expect(text).toMatch(m);
  });
});
