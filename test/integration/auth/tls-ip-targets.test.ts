/**
 * TLS to an IP address target (services/common/auth/tls-channel.ts): the
 * normal case, a cluster on 127.0.0.1. No process may print Node's DEP0123
 * warning (an IP address as the TLS server name, which RFC 6066 forbids), and
 * the certificate must still be checked against the IP dialled: a server whose
 * certificate does not name it is refused, by the SDK and by the coordinator
 * dialling its backends, while a DNS name target (localhost) is checked
 * against the name, as before. Real processes and the credentials generator's
 * certificates.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_ROOT, LocalCluster, type LocalClusterOptions } from '../../../clients/cluster/local-cluster';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import type { CredentialPaths } from '../../../clients/credentials/layout';
import { readTokenFile } from '../../../clients/credentials/layout';
import { VswapClient } from '../../../clients/sdk/client';
import { BackendClient } from '../../../services/common/backend-client';
import { backendCredentials } from '../../../services/coordinator/auth/backend-credentials';
import { expectCode, until } from '../coordinator/helpers';

const DEP0123 = 'DEP0123';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A compiled client (vswapctl, the health check) as a process of its own: its warnings land on its stderr. */
function runNode(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { env: { ...process.env, ...env }, timeout: 50_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const portOf = (address: string): string => address.slice(address.lastIndexOf(':') + 1);

/** A TLS cluster with credentials of its own, and SDK clients for it closed with it. */
interface TlsCluster {
  creds: CredentialPaths;
  cluster: LocalCluster;
  /** An SDK client with the admin token and the cluster's CA, for `address`. */
  sdk(address: string): VswapClient;
  stop(): Promise<void>;
}

async function startTlsCluster(
  name: string,
  serverNames: string[] | undefined,
  options: Partial<LocalClusterOptions> = {},
): Promise<TlsCluster> {
  const creds = (await ensureCredentials({ dir: path.join(tmp, `creds-${name}`), serverNames })).paths;
  const token = readTokenFile(creds.adminToken)!;
  const cluster = await LocalCluster.start({ dataDir: path.join(tmp, name), credentials: creds, ...options });
  const clients: VswapClient[] = [];
  return {
    creds,
    cluster,
    sdk: (address) => {
      const c = new VswapClient({ address, token, ca: creds.ca, deadlineMs: 10_000, readRetries: 0 });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await cluster.stop();
    },
  };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-tls-ip-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a TLS cluster on 127.0.0.1 (certificate naming the IP)', () => {
  let fx: TlsCluster;
  beforeAll(async () => {
    fx = await startTlsCluster('ip', undefined);
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('vswapctl and the health check dial the coordinator by IP without a DEP0123 warning', async () => {
    expect(fx.cluster.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const env = {
      VSWAP_ADDRESS: fx.cluster.address,
      VSWAP_TOKEN: readTokenFile(fx.creds.adminToken)!,
      VSWAP_CA: fx.creds.ca,
    };
    const ctl = await runNode(path.join(DIST_ROOT, 'clients/cli/main.js'), ['swaps'], env);
    expect(ctl.code, ctl.stderr).toBe(0);
    expect(ctl.stdout).toContain('zswap');
    expect(ctl.stderr).not.toContain(DEP0123);
    const health = await runNode(path.join(DIST_ROOT, 'clients/cluster/healthcheck.js'), [
      fx.cluster.address,
      '--ca',
      fx.creds.ca,
    ]);
    expect(health.code, health.stdout).toBe(0);
    expect(health.stderr).not.toContain(DEP0123);
  });

  it("the coordinator's mutual-TLS links to its backends (by IP) print no DEP0123 warning", async () => {
    const c = fx.sdk(fx.cluster.address);
    // Every backend answered over its TLS link: the connections the warning came with are made.
    const backends = await until(
      () => c.listBackends(),
      (bs) => bs.every((b) => b.reachable),
      20_000,
    );
    expect(backends.every((b) => b.reachable)).toBe(true);
    expect(fx.cluster.logs('coordinator')).not.toContain(DEP0123);
  });

  it('a DNS name target (localhost, a DNS SAN) still works', async () => {
    const stats = await fx.sdk(`localhost:${portOf(fx.cluster.address)}`).stats();
    expect(stats).toBeDefined();
  });
});

describe('a TLS cluster whose certificate names localhost but not 127.0.0.1', () => {
  let fx: TlsCluster;
  beforeAll(async () => {
    fx = await startTlsCluster('dns', ['localhost'], {
      zswap: { name: 'by-ip' },
      swapfiles: [{ name: 'by-name' }],
      // The coordinator dials one backend by the IP it listens on, the other by the name its certificate carries.
      routeBackend: (name, address) => Promise.resolve(name === 'by-name' ? `localhost:${portOf(address)}` : address),
    });
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('the SDK refuses the coordinator dialled by IP: its certificate does not name the IP', async () => {
    await expectCode(
      fx.sdk(fx.cluster.address).stats(),
      grpc.status.UNAVAILABLE,
      /IP: 127\.0\.0\.1 is not in the cert's list/,
    );
  });

  it('the SDK reaches the same coordinator by the DNS name its certificate carries', async () => {
    expect(await fx.sdk(`localhost:${portOf(fx.cluster.address)}`).stats()).toBeDefined();
  });

  it('the coordinator reaches the backend it dials by name, never the one it dials by IP', async () => {
    const c = fx.sdk(`localhost:${portOf(fx.cluster.address)}`);
    const seen = await until(
      () => c.listBackends(),
      (bs) => bs.some((b) => b.name === 'by-name' && b.reachable),
      20_000,
    );
    expect(seen.find((b) => b.name === 'by-name')?.reachable).toBe(true);
    // Several polls later the backend dialled by IP is still refused (its certificate names localhost only).
    await new Promise((r) => setTimeout(r, 1500));
    const byIp = (await c.listBackends()).find((b) => b.name === 'by-ip')!;
    expect(byIp.address).toMatch(/^127\.0\.0\.1:/);
    expect(byIp.reachable).toBe(false);
    expect(fx.cluster.logs('coordinator')).not.toContain(DEP0123);
  });

  it("the coordinator's backend credentials: refused by IP for the certificate's names, served by name", async () => {
    // What the coordinator builds from its options (main.ts), here in-process to read the refusal's reason.
    const { tls, token: clusterToken } = backendCredentials({
      clusterTokenFile: fx.creds.clusterToken,
      backendCa: fx.creds.ca,
      backendClientCert: fx.creds.clientCert,
      backendClientKey: fx.creds.clientKey,
    });
    const address = fx.cluster.node('by-ip').address;
    const byIp = new BackendClient(address, { tls, token: clusterToken, deadlineMs: 5000 });
    const byName = new BackendClient(`localhost:${portOf(address)}`, { tls, token: clusterToken, deadlineMs: 5000 });
    try {
      const err = (await byIp.info().then(
        () => undefined,
        (e: unknown) => e,
      )) as grpc.ServiceError | undefined;
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(err?.details).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
      expect((await byName.info()).kind).toBe('zswap');
    } finally {
      byIp.close();
      byName.close();
    }
  });
});
