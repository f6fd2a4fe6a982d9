/** vswap.v1.VirtualSwap over a Coordinator: proto messages in and out, nothing else. */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { serverStreaming, unary } from '../common/server';
import type { VirtualSwapHandlers } from '../../proto/generated/vswap/v1/VirtualSwap';
import type { Coordinator } from './coordinator';

export function virtualSwapService(c: Coordinator, log: Logger): VirtualSwapHandlers {
  return {
    SwapOut: unary(log, 'SwapOut', async (req) => c.swapOut(req.owner, req.pages, req.contiguous)),
    Allocate: unary(log, 'Allocate', async (req) => ({ slots: await c.allocate(req.owner, req.count, req.contiguous) })),
    Store: unary(log, 'Store', async (req) => ({ tiers: await c.store(req.owner, req.slots, req.pages) })),
    Load: unary(log, 'Load', async (req) => c.load(req.owner, req.slots, req.release)),
    Duplicate: unary(log, 'Duplicate', async (req) => ({ counts: await c.duplicate(req.owner, req.slots) })),
    Free: unary(log, 'Free', async (req) => ({ counts: await c.free(req.owner, req.slots) })),
    Inspect: unary(log, 'Inspect', (req) => ({ slots: c.inspect(req.owner, req.slots) })),
    Writeback: unary(log, 'Writeback', async (req) => ({ written: await c.writeback(req.maxPages, req.owner) })),
    Swapoff: serverStreaming(log, 'Swapoff', async (req, send) => {
      const moved = await c.swapoff(req.backend, (m, remaining) => send({ moved: m, remaining, done: false }));
      await send({ moved, remaining: 0, done: true });
    }),
    Swapon: unary(log, 'Swapon', (req) => ({ backend: c.swapon(req.backend, req.priority) })),
    ListBackends: unary(log, 'ListBackends', async () => ({ backends: await c.listBackends() })),
    Stats: unary(log, 'Stats', async (req) => c.stats(req.owner)),
    SetOwnerPolicy: unary(log, 'SetOwnerPolicy', (req) => ({
      owner: req.owner,
      ...c.setOwnerPolicy(req.owner, req.update, { zswapMaxPages: req.zswapMaxPages, zswapWriteback: req.zswapWriteback, swapMaxPages: req.swapMaxPages }),
    })),
  } satisfies grpc.UntypedServiceImplementation & VirtualSwapHandlers;
}
