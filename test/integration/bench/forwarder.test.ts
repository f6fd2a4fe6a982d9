import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startForwarder } from '../../../clients/bench/children';
import { ChildRegistry } from '../../../clients/cluster/child-registry';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import type { VswapClient } from '../../../clients/sdk/client';
import { startService } from '../../support/service';
import { memoryLikePages, startZswap, type RunningZswap } from '../zswap/helpers';

/**
 * bench:cluster's hop ceiling is only a ceiling if the forwarder really
 * carries the pages both ways: a forwarder that dropped or mixed them up
 * would be cheap and make the coordinator look slow.
 */
describe('the bare forwarder of bench:cluster', () => {
  let zswap: RunningZswap | undefined;
  let client: VswapClient | undefined;
  const registry = new ChildRegistry();
  let dir: string | undefined;
  const savedCa = process.env.VSWAP_CA;
  afterEach(async () => {
    client?.close();
    await registry.stopAll();
    await zswap?.stop();
    client = zswap = undefined;
    process.env.VSWAP_CA = savedCa;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('hands back each page it was given, and a Load with release frees the backend copies', async () => {
    zswap = await startZswap(['--pool-bytes', '64M']);
    client = (await startForwarder(registry, zswap.service.address, 10_000)).client;
    const pages = memoryLikePages(24);
    const { slots } = await client.swapOut('bench', pages);
    expect(slots).toHaveLength(24);
    const reversed = [...slots].reverse();
    const once = await client.load('bench', reversed);
    expect(once).toEqual([...pages].reverse());
    expect((await zswap.client.info()).usedPages).toBe(24);
    const released = await client.load('bench', slots, { release: true });
    expect(released).toEqual(pages);
    // The Delete follows the Load's answer: wait for it, bounded.
    const deadline = Date.now() + 5000;
    while ((await zswap.client.info()).usedPages > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await zswap.client.info()).usedPages).toBe(0);
  });

  it("bench:cluster's client of it talks plaintext, whatever CA the environment names (a `npm start` in the same directory)", async () => {
    // Found running bench:cluster in a checkout where `npm start` had left .vswap/tls/ca.pem: the SDK's default
    // found that CA, spoke TLS to the plaintext forwarder and waited for a connection until its retries ran out.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-forwarder-ca-'));
    process.env.VSWAP_CA = (await ensureCredentials({ dir })).paths.ca;
    zswap = await startZswap(['--pool-bytes', '64M']);
    const started = await startForwarder(registry, zswap.service.address, 2000);
    client = started.client;
    const pages = memoryLikePages(4);
    const { slots } = await client.swapOut('bench', pages);
    expect(await client.load('bench', slots, { release: true })).toEqual(pages);
  });

  it('refuses to start without --backend, saying so', async () => {
    await expect(startService({ entry: 'clients/bench/forwarder.js' })).rejects.toThrow(/--backend/);
  });
});
