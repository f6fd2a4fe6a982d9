/**
 * A deadline storm: a burst of concurrent mutating calls, under an owner of
 * its own, with deadlines of a few milliseconds or cancelled by the client
 * while the coordinator works on them. Each call carries a request_id; when
 * the coordinator deduplicates, a call that ended without an answer is sent
 * again with its id and a normal deadline, so the storm learns every outcome
 * and frees every slot it was given. What it cannot learn is reported.
 *
 * The checker then finds any slot of the storm's owner still alive: a call
 * that was cancelled before it committed must have rolled back, and a call
 * that committed must have been found by its retry.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { PAGE_SIZE } from '../../services/common/limits';
import type { Rng } from '../workload/prng';
import type { HangTracker } from './hang-tracker';
import type { DedupLevel } from './recording-client';
import { type CoordinatorAccess, coordinatorClient } from './coordinator-access';

export interface StormOptions {
  address: string;
  owner: string;
  rng: Rng;
  /** Calls in the burst; default 40. */
  calls?: number;
  dedup: DedupLevel;
  hangs: HangTracker;
  /** TLS and the admin token of the coordinator. */
  access?: CoordinatorAccess;
}

export interface StormReport {
  calls: number;
  /** Calls answered on their first attempt. */
  answered: number;
  /** Calls that ended by their deadline or a cancel, then settled by a retry with the same id. */
  settledByRetry: number;
  /** Calls whose outcome stayed unknown. */
  unknown: number;
  /** Answers by code name (first attempts). */
  codes: Record<string, number>;
  /** Slots still held after the storm freed what it knew of (must be 0). */
  slotsLeft: number;
}

type Unary = (
  req: object,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { slots?: (number | string)[]; counts?: number[] }) => void,
) => grpc.ClientUnaryCall;

const AMBIGUOUS = new Set<number>([grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

export async function deadlineStorm(o: StormOptions): Promise<StormReport> {
  const raw = coordinatorClient(o.address, o.access);
  const report: StormReport = { calls: 0, answered: 0, settledByRetry: 0, unknown: 0, codes: {}, slotsLeft: 0 };
  const held: number[] = [];
  const page = Buffer.alloc(PAGE_SIZE, 0x5a);

  /** One attempt; `deadlineMs` and `cancelAfterMs` cut it short. */
  const attempt = (fn: Unary, req: object, deadlineMs: number, cancelAfterMs?: number) =>
    o.hangs.track(
      `storm ${o.owner}`,
      deadlineMs + 10_000,
      () =>
        new Promise<{ err: grpc.ServiceError | null; res?: { slots?: (number | string)[]; counts?: number[] } }>(
          (resolve) => {
            const call = fn.call(raw, req, { deadline: Date.now() + deadlineMs }, (err, res) => resolve({ err, res }));
            if (cancelAfterMs !== undefined) setTimeout(() => call.cancel(), cancelAfterMs).unref();
          },
        ),
    );

  /** Sends a call cut short; settles it with retries of the same id when the coordinator deduplicates. */
  const storm = async (
    fn: Unary,
    req: Record<string, unknown>,
  ): Promise<{ slots?: (number | string)[] } | undefined> => {
    report.calls++;
    const request = { ...req, requestId: randomUUID() };
    const cancel = o.rng.int(2) === 0 ? o.rng.int(20) : undefined;
    let r = await attempt(fn, request, 1 + o.rng.int(40), cancel);
    const name = r.err ? (grpc.status[r.err.code] ?? String(r.err.code)) : 'OK';
    report.codes[name] = (report.codes[name] ?? 0) + 1;
    if (!r.err) {
      report.answered++;
      return r.res;
    }
    if (!AMBIGUOUS.has(r.err.code)) return undefined; // answered: nothing changed
    if (o.dedup === 'none') {
      report.unknown++;
      return undefined;
    }
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      r = await attempt(fn, request, 5000);
      if (!r.err) {
        report.settledByRetry++;
        return r.res;
      }
      if (!AMBIGUOUS.has(r.err.code) && r.err.code !== grpc.status.UNAVAILABLE) {
        report.settledByRetry++;
        return undefined;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    report.unknown++;
    return undefined;
  };

  try {
    const n = o.calls ?? 40;
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const kind = o.rng.int(held.length > 0 ? 4 : 2);
      if (kind === 0) {
        const pages = Array.from({ length: 1 + o.rng.int(32) }, () => page);
        jobs.push(
          storm(raw.swapOut as unknown as Unary, { owner: o.owner, pages }).then(
            (res) => void held.push(...(res?.slots ?? []).map(Number)),
          ),
        );
      } else if (kind === 1) {
        jobs.push(
          storm(raw.allocate as unknown as Unary, { owner: o.owner, count: 1 + o.rng.int(16) }).then(
            (res) => void held.push(...(res?.slots ?? []).map(Number)),
          ),
        );
      } else if (kind === 2) {
        const slot = held[o.rng.int(held.length)]!;
        jobs.push(
          storm(raw.store as unknown as Unary, { owner: o.owner, slots: [slot], pages: [page] }).then(() => undefined),
        );
      } else {
        // A Duplicate then a Free of the same slot: the count goes back where it was.
        const slot = held[o.rng.int(held.length)]!;
        jobs.push(
          storm(raw.duplicate as unknown as Unary, { owner: o.owner, slots: [slot] }).then(async (res) => {
            if (res) await storm(raw.free as unknown as Unary, { owner: o.owner, slots: [slot] });
          }),
        );
      }
      if (o.rng.int(4) === 0) await new Promise((res) => setTimeout(res, o.rng.int(5)));
    }
    await Promise.all(jobs);
    // Free everything the storm holds, with a deadline that lets it finish.
    for (const slot of new Set(held)) {
      for (let tries = 0; tries < 20; tries++) {
        const r = await attempt(
          raw.free as unknown as Unary,
          { owner: o.owner, slots: [slot], requestId: randomUUID() },
          5000,
        );
        if (!r.err || r.err.code === grpc.status.NOT_FOUND) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    const stats = await attempt(raw.stats as unknown as Unary, { owner: o.owner }, 5000);
    report.slotsLeft = Number((stats.res as { usedSlots?: number | string } | undefined)?.usedSlots ?? 0);
    return report;
  } finally {
    raw.close();
  }
}
