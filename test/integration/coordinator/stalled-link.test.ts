/**
 * A link to a backend that stops carrying bytes without closing (a half-open
 * TCP connection: the path or the peer's host dropped it without a FIN or
 * RST) shows to the coordinator only as calls timing out; grpc-js keeps using
 * the connection until a keepalive ping goes unanswered. The fault suite's
 * net-reset run (seed 2) found a backend left unreachable that way for 36 s
 * after the network healed. The coordinator's backend channels ping often
 * enough that such a link is replaced within seconds.
 */
import { describe, expect, it } from 'vitest';
import { TcpProxy } from '../../../clients/fault/tcp-proxy';
import { clusterPerTest, until } from './helpers';
import { randomPage } from './pages';

describe('a stalled link to a backend', () => {
  const fx = clusterPerTest();

  it('is replaced: the backend is reachable and takes pages again well before a 30 s ping interval would notice', async () => {
    let proxy: TcpProxy | undefined;
    try {
      const c = await fx.start({
        zswap: false,
        swapfiles: [{ name: 'file0', capacityPages: 1024 }],
        coordinatorArgs: ['--backend-deadline-ms', '1000', '--poll-ms', '100'],
        routeBackend: async (_name, address) => {
          proxy = await TcpProxy.start({ target: address });
          return proxy.address;
        },
      });
      const before = await c.swapOut('app', [randomPage()]);
      expect(before.tiers).toEqual(['TIER_SWAPFILE']);
      expect(proxy!.stallLinks()).toBeGreaterThan(0);
      // The coordinator's calls on the stalled connection time out: file0 is unreachable.
      const gone = await until(
        () => c.listBackends(),
        (bs) => !bs[0]!.reachable,
        10_000,
      );
      expect(gone[0]!.reachable).toBe(false);
      // A new connection replaces the stalled one: file0 is reachable again and takes a page.
      const back = await until(
        () =>
          c.swapOut('app', [randomPage()]).then(
            (r) => r.tiers,
            (e: unknown) => String(e),
          ),
        (t) => Array.isArray(t),
        20_000,
      );
      expect(back).toEqual(['TIER_SWAPFILE']);
      expect((await c.listBackends())[0]!.reachable).toBe(true);
      expect((await c.load('app', before.slots))[0]!.length).toBe(4096);
    } finally {
      await proxy?.close();
    }
  });
});
