/** vswap.v1.VirtualSwap over a Coordinator: proto messages in and out, nothing else. */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { serverStreaming, unary } from '../common/server';
import type { VirtualSwapHandlers } from '../../proto/generated/vswap/v1/VirtualSwap';
import type { Coordinator } from './coordinator';
import type { CallContext } from './call-context';
import { type DigestPart, type MutatingMethod, type RequestLog, requestDigest } from './request-log';
import { StreamWriter } from '../common/stream-writer';
import type { AuthGate } from './auth/authorize';

/**
 * Aborted when the caller goes away: it cancelled, or its deadline passed
 * (the timer is a second guard next to grpc-js's 'cancelled' event).
 */
function callSignal(call: grpc.ServerUnaryCall<unknown, unknown>): {
  signal: AbortSignal;
  deadline: number | undefined;
  done: () => void;
} {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  if (call.cancelled) ac.abort();
  else call.once('cancelled', abort);
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const ms = at - Date.now();
  const timer = Number.isFinite(ms) ? setTimeout(abort, Math.max(0, ms)) : undefined;
  timer?.unref();
  return {
    signal: ac.signal,
    deadline: Number.isFinite(at) ? at : undefined,
    done: () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', abort);
    },
  };
}

/** `gate`: authentication and authorization in front of every method (auth/authorize.ts); none in protected mode. */
export function virtualSwapService(
  c: Coordinator,
  log: Logger,
  requests: RequestLog,
  gate?: AuthGate,
): VirtualSwapHandlers {
  /** A mutating call, run at most once per owner and request_id (request-log.ts). */
  const once = async <T>(
    call: grpc.ServerUnaryCall<unknown, unknown>,
    method: MutatingMethod,
    req: { owner: string; requestId: string },
    fields: readonly DigestPart[],
    apply: (ctx: CallContext) => Promise<T>,
    sizeOf: (v: T) => number,
  ): Promise<T> => {
    const { signal, deadline, done } = callSignal(call);
    try {
      if (req.requestId === '') return await apply({ signal, deadline });
      return await requests.run(
        { method, owner: req.owner, requestId: req.requestId, digest: requestDigest(method, [req.owner, ...fields]) },
        signal,
        () => apply({ signal, deadline }),
        sizeOf,
      );
    } finally {
      done();
    }
  };
  const handlers = {
    SwapOut: unary(log, 'SwapOut', async (req, call) =>
      once(
        call,
        'SwapOut',
        req,
        [req.pages, req.contiguous],
        (ctx) => c.swapOut(req.owner, req.pages, req.contiguous, ctx),
        (r) => r.slots.length,
      ),
    ),
    Allocate: unary(log, 'Allocate', async (req, call) =>
      once(
        call,
        'Allocate',
        req,
        [req.count, req.contiguous],
        async (ctx) => ({ slots: await c.allocate(req.owner, req.count, req.contiguous, ctx) }),
        (r) => r.slots.length,
      ),
    ),
    Store: unary(log, 'Store', async (req, call) =>
      once(
        call,
        'Store',
        req,
        [req.slots, req.pages],
        async () => ({ tiers: await c.store(req.owner, req.slots, req.pages) }),
        (r) => r.tiers.length,
      ),
    ),
    // Only a Load with release changes anything: that one is run once per request_id.
    Load: unary(log, 'Load', async (req, call) =>
      req.release
        ? once(
            call,
            'Load',
            req,
            [req.slots, req.release],
            () => c.load(req.owner, req.slots, true),
            (r) => r.counts.length,
          )
        : c.load(req.owner, req.slots, false),
    ),
    Duplicate: unary(log, 'Duplicate', async (req, call) =>
      once(
        call,
        'Duplicate',
        req,
        [req.slots],
        async () => ({ counts: await c.duplicate(req.owner, req.slots) }),
        (r) => r.counts.length,
      ),
    ),
    Free: unary(log, 'Free', async (req, call) =>
      once(
        call,
        'Free',
        req,
        [req.slots],
        async () => ({ counts: await c.free(req.owner, req.slots) }),
        (r) => r.counts.length,
      ),
    ),
    Inspect: unary(log, 'Inspect', (req) => ({ slots: c.inspect(req.owner, req.slots) })),
    Writeback: unary(log, 'Writeback', async (req) => ({ written: await c.writeback(req.maxPages, req.owner) })),
    Swapoff: serverStreaming(log, 'Swapoff', async (req, _send, call) => {
      // A reader that goes away (cancel, deadline, stops reading) ends the drain: see Coordinator.swapoff.
      const out = new StreamWriter(call);
      const moved = await c.swapoff(req.backend, (m, remaining) => out.write({ moved: m, remaining, done: false }), {
        signal: out.signal,
      });
      await out.write({ moved, remaining: 0, done: true });
    }),
    Swapon: unary(log, 'Swapon', (req) => ({ backend: c.swapon(req.backend, req.priority) })),
    ListBackends: unary(log, 'ListBackends', async () => ({ backends: await c.listBackends() })),
    Stats: unary(log, 'Stats', async (req) => c.stats(req.owner)),
    SetOwnerPolicy: unary(log, 'SetOwnerPolicy', async (req) => ({
      owner: req.owner,
      ...(await c.setOwnerPolicy(req.owner, req.update, {
        zswapMaxPages: req.zswapMaxPages,
        zswapWriteback: req.zswapWriteback,
        swapMaxPages: req.swapMaxPages,
      })),
    })),
  } satisfies grpc.UntypedServiceImplementation & VirtualSwapHandlers;
  return gate ? gate.wrap(handlers) : handlers;
}
