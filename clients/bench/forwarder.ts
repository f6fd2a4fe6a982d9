/**
 * A vswap.v1.VirtualSwap that is only the hop: SwapOut becomes one backend
 * Put and Load one backend Get (a Delete follows a Load with release), with
 * the slot ids in a plain Map. No slot table, journal, request log, swap
 * cache, placement or checks beyond the transport's: the ceiling any
 * coordinator built on gRPC unary calls reaches on this machine, which
 * bench:cluster reports next to the coordinator (forwarder_vs_direct_*,
 * coordinator_vs_forwarder_*). It batches concurrent calls to the backend as
 * the coordinator does (coalesce.ts), so that the two differ only in what
 * the coordinator adds. Not for anything but benchmarks: it keeps nothing
 * across a restart and trusts its callers.
 *
 *   node dist/clients/bench/forwarder.js --backend <host:port> [--listen 127.0.0.1:0]
 */
import type * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { BackendClient } from '../../services/common/backend-client';
import { sharedEnv } from '../../services/common/config';
import { DEFAULT_HEAP_GROWTH_PERCENT, applyHeapGrowth } from '../../services/common/heap-growth';
import { createLogger } from '../../services/common/logger';
import { loadVswapProto } from '../../services/common/proto';
import { announceReady } from '../../services/common/ready';
import { runMain, startServer, unary } from '../../services/common/server';
import { CoalescingCalls } from '../../services/coordinator/coalesce';
import type { LoadRequest__Output } from '../../proto/generated/vswap/v1/LoadRequest';
import type { LoadResponse } from '../../proto/generated/vswap/v1/LoadResponse';
import type { SwapOutRequest__Output } from '../../proto/generated/vswap/v1/SwapOutRequest';
import type { SwapOutResponse } from '../../proto/generated/vswap/v1/SwapOutResponse';

runMain('forwarder', async () => {
  const options = new Command('forwarder')
    .requiredOption('--backend <host:port>', 'the backend every SwapOut and Load goes to')
    .option('--listen <host:port>', 'address to serve vswap.v1.VirtualSwap on', '127.0.0.1:0')
    .parse()
    .opts<{ backend: string; listen: string }>();
  const backendAddress = options.backend;
  // The services' default (heap-growth.ts): the hop's ceiling runs as the coordinator does.
  applyHeapGrowth(DEFAULT_HEAP_GROWTH_PERCENT);
  const log = createLogger({ name: 'forwarder', level: sharedEnv(undefined, { logLevel: 'warn' }).logLevel });
  const backend = new CoalescingCalls(new BackendClient(backendAddress, { deadlineMs: 60_000 }));
  /** Slot id -> backend handle, for the slots handed out and not yet released. */
  const handles = new Map<number, number>();
  let nextSlot = 1;

  const implementation: grpc.UntypedServiceImplementation = {
    SwapOut: unary(log, 'SwapOut', async (req: SwapOutRequest__Output): Promise<SwapOutResponse> => {
      const put = await backend.put(req.pages);
      const slots = new Array<number>(put.handles.length);
      for (let i = 0; i < slots.length; i++) {
        const slot = nextSlot++;
        handles.set(slot, put.handles[i]!);
        slots[i] = slot;
      }
      return { slots, tiers: new Array<'TIER_ZSWAP'>(slots.length).fill('TIER_ZSWAP') };
    }),
    Load: unary(log, 'Load', async (req: LoadRequest__Output): Promise<LoadResponse> => {
      const named = req.slots.map((s) => handles.get(Number(s)) ?? 0);
      const got = await backend.get(named, true);
      if (req.release) {
        for (const s of req.slots) handles.delete(Number(s));
        backend
          .delete(named, 'DELETE_FREED')
          .catch((err: unknown) => log.warn({ err: String(err) }, 'backend Delete failed'));
      }
      return { pages: got.pages, counts: new Array<number>(named.length).fill(req.release ? 0 : 1) };
    }),
  };

  const proto = loadVswapProto();
  const server = await startServer({
    address: options.listen,
    services: [{ name: 'vswap.v1.VirtualSwap', definition: proto.vswap.v1.VirtualSwap.service, implementation }],
    log,
  });
  announceReady('forwarder', server.address);
  return {
    stop: async () => {
      await server.shutdown();
      backend.close();
    },
  };
});
