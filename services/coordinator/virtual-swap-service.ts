/** vswap.v1.VirtualSwap over a running coordinator: proto messages in and out, nothing else. */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { serverStreaming, unary } from '../common/server';
import type { VirtualSwapHandlers } from '../../proto/generated/vswap/v1/VirtualSwap';
import type { RunningCoordinator } from './running-coordinator';
import { type CallContext, callSignal } from './call-context';
import { type DigestPart, type MutatingMethod, type RequestLog, answerRecordBound, requestDigest } from './request-log';
import type { LoadRequest__Output } from '../../proto/generated/vswap/v1/LoadRequest';
import { MAX_BATCH } from '../common/limits';
import { StreamWriter } from '../common/stream-writer';
import { pageChecksums } from '../common/checksum';
import type { AuthGate } from './auth/authorize';

/** `gate`: authentication and authorization in front of every method (auth/authorize.ts); none in protected mode. */
export function virtualSwapService(
  vswap: Pick<RunningCoordinator, 'coordinator' | 'admin' | 'reporting'>,
  log: Logger,
  requests: RequestLog,
  gate?: AuthGate,
): VirtualSwapHandlers {
  const { coordinator: c, admin, reporting } = vswap;
  /**
   * A mutating method: run at most once per owner and request_id
   * (request-log.ts), its answer journaled in the commit of its change.
   * `fields`: what the digest covers besides the owner; `reply`: the answer
   * made of the coordinator's result; `slotsOf`: how many slots it names;
   * `pagesOf`: the pages it carries, whose checksums the digest and the
   * write path then share.
   */
  const mutation =
    <Req extends { owner: string; requestId: string }, R, Res>(
      method: MutatingMethod,
      fields: (req: Req) => readonly DigestPart[],
      apply: (req: Req, ctx: CallContext) => Promise<R>,
      reply: (r: R) => Res,
      slotsOf: (res: Res) => number,
      pagesOf?: (req: Req) => readonly Buffer[],
    ) =>
    async (req: Req, call: grpc.ServerUnaryCall<Req, Res>): Promise<Res> => {
      const { signal, deadline, done } = callSignal(call);
      const onAllocated = gate?.allocationHook(call);
      try {
        if (req.requestId === '') return reply(await apply(req, { signal, deadline, onAllocated }));
        const parts = [req.owner, ...fields(req)];
        const pageSums = pagesOf && pageChecksums(pagesOf(req));
        const digest = requestDigest(method, parts, 'checksums', pageSums);
        const named = req as { slots?: unknown[]; pages?: unknown[]; count?: number };
        const bytes = answerRecordBound(method, named.slots?.length ?? named.pages?.length ?? named.count ?? MAX_BATCH);
        return await requests.run(
          {
            method,
            owner: req.owner,
            requestId: req.requestId,
            digest,
            legacyDigest: () => requestDigest(method, parts, 'bytes'),
          },
          signal,
          async (journal) =>
            reply(
              await apply(req, {
                signal,
                deadline,
                onAllocated,
                pageSums,
                answer: journal && {
                  bytes,
                  keepPages: (pages, sums) => journal.keepPages(pages, sums),
                  record: (r) => journal.record(reply(r as R)),
                },
              }),
            ),
          slotsOf,
        );
      } finally {
        done();
      }
    };
  const same = <T>(r: T): T => r;
  // Only a Load with release changes anything: that one is run once per request_id.
  const swapIn = mutation(
    'Load',
    (r: LoadRequest__Output) => [r.slots, r.release],
    (r, ctx) => c.load(r.owner, r.slots, true, ctx),
    same,
    (v) => v.counts.length,
  );
  const handlers = {
    SwapOut: unary(
      log,
      'SwapOut',
      mutation(
        'SwapOut',
        (r) => [r.pages, r.contiguous],
        (r, ctx) => c.swapOut(r.owner, r.pages, r.contiguous, ctx),
        same,
        (v) => v.slots.length,
        (r) => r.pages,
      ),
    ),
    Allocate: unary(
      log,
      'Allocate',
      mutation(
        'Allocate',
        (r) => [r.count, r.contiguous],
        (r, ctx) => c.allocate(r.owner, r.count, r.contiguous, ctx),
        (slots) => ({ slots }),
        (v) => v.slots.length,
      ),
    ),
    Store: unary(
      log,
      'Store',
      mutation(
        'Store',
        (r) => [r.slots, r.pages],
        (r, ctx) => c.store(r.owner, r.slots, r.pages, ctx),
        (tiers) => ({ tiers }),
        (v) => v.tiers.length,
        (r) => r.pages,
      ),
    ),
    Load: unary(log, 'Load', async (req, call) =>
      req.release ? swapIn(req, call) : c.load(req.owner, req.slots, false),
    ),
    Duplicate: unary(
      log,
      'Duplicate',
      mutation(
        'Duplicate',
        (r) => [r.slots],
        (r, ctx) => c.duplicate(r.owner, r.slots, ctx),
        (counts) => ({ counts }),
        (v) => v.counts.length,
      ),
    ),
    Free: unary(
      log,
      'Free',
      mutation(
        'Free',
        (r) => [r.slots],
        (r, ctx) => c.free(r.owner, r.slots, ctx),
        (counts) => ({ counts }),
        (v) => v.counts.length,
      ),
    ),
    Inspect: unary(log, 'Inspect', (req) => ({ slots: reporting.inspect(req.owner, req.slots) })),
    Writeback: unary(log, 'Writeback', async (req) => ({ written: await admin.writeback(req.maxPages, req.owner) })),
    Swapoff: serverStreaming(log, 'Swapoff', async (req, _send, call) => {
      // A reader that goes away (cancel, deadline, stops reading) ends the drain: see Admin.swapoff.
      const out = new StreamWriter(call);
      const progress = (m: number, remaining: number): Promise<void> => out.write({ moved: m, remaining, done: false });
      const moved = await admin.swapoff(req.backend, progress, { signal: out.signal });
      await out.write({ moved, remaining: 0, done: true });
    }),
    Swapon: unary(log, 'Swapon', (req) => ({ backend: admin.swapon(req.backend, req.priority) })),
    ListBackends: unary(log, 'ListBackends', async () => ({ backends: await reporting.listBackends() })),
    Stats: unary(log, 'Stats', async (req) => reporting.stats(req.owner)),
    SetOwnerPolicy: unary(log, 'SetOwnerPolicy', async (req) => ({
      owner: req.owner,
      ...(await admin.setOwnerPolicy(req.owner, req.update, {
        zswapMaxPages: req.zswapMaxPages,
        zswapWriteback: req.zswapWriteback,
        swapMaxPages: req.swapMaxPages,
      })),
    })),
  } satisfies grpc.UntypedServiceImplementation & VirtualSwapHandlers;
  return gate ? gate.wrap(handlers) : handlers;
}
