/**
 * The backends answer only the coordinator (issue 11). Called directly, as an
 * attacker on the network would: plaintext, TLS without a client certificate,
 * a certificate from another CA, an expired one, a tenant's certificate from
 * the cluster CA, the coordinator's certificate without the cluster token or
 * with a wrong one. Every method (Put, Get, Delete, Info, Stats, Coldest,
 * Reconcile) is refused, and nothing the coordinator stored is touched; a
 * backend with a cluster token only (loopback, no TLS) refuses callers without it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import { type PemPair, createCa, issueLeaf } from '../../../clients/credentials/certificates';
import { readTokenFile, type CredentialPaths } from '../../../clients/credentials/layout';
import { BackendClient } from '../../../services/common/backend-client';
import { startService, type StartedService } from '../../support/service';
import { clientTls, makeCredentials } from '../../support/auth';

const page = (b: number): Buffer => Buffer.alloc(4096, b);

async function codeOf(p: Promise<unknown>): Promise<grpc.status> {
  return p.then(
    () => grpc.status.OK,
    (e: unknown) => (e as grpc.ServiceError).code,
  );
}

/**
 * Every method of vswap.v1.Backend once, each resolving to its status: Put,
 * Get and Delete as unary calls (`make(false)`) and on a Link stream.
 */
async function everyMethod(make: (link: boolean) => BackendClient): Promise<Record<string, grpc.status>> {
  const c = make(false);
  const linked = make(true);
  try {
    return {
      Put: await codeOf(c.put([page(1)])),
      Get: await codeOf(c.get([1])),
      Delete: await codeOf(c.delete([1], 'DELETE_FREED', true)),
      Info: await codeOf(c.info()),
      Stats: await codeOf(c.stats()),
      Coldest: await codeOf(c.coldest(10)),
      // No handles: a caller that got through would wipe the backend.
      Reconcile: await codeOf(c.reconcile([], 5000)),
      'Link Put': await codeOf(linked.put([page(1)])),
      'Link Get': await codeOf(linked.get([1])),
      'Link Delete': await codeOf(linked.delete([1], 'DELETE_FREED', true)),
    };
  } finally {
    c.close();
    linked.close();
  }
}

const all = (code: grpc.status): Record<string, grpc.status> =>
  Object.fromEntries(
    ['Put', 'Get', 'Delete', 'Info', 'Stats', 'Coldest', 'Reconcile', 'Link Put', 'Link Get', 'Link Delete'].map(
      (m) => [m, code],
    ),
  );

describe('backends with the cluster credentials (mutual TLS and the cluster token)', () => {
  let dir: string;
  let creds: CredentialPaths;
  let cluster: LocalCluster;
  let ca: PemPair;
  let token: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-backend-auth-'));
    creds = await makeCredentials(path.join(dir, 'creds'));
    ca = { cert: fs.readFileSync(creds.ca, 'utf8'), key: fs.readFileSync(creds.caKey, 'utf8') };
    token = readTokenFile(creds.clusterToken)!;
    cluster = await LocalCluster.start({
      dataDir: path.join(dir, 'cluster'),
      credentials: creds,
      swapfiles: [{ name: 'swapfile' }],
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const coordinatorCert = (): PemPair => ({
    cert: fs.readFileSync(creds.clientCert, 'utf8'),
    key: fs.readFileSync(creds.clientKey, 'utf8'),
  });

  const direct = (node: string, o: { cert?: PemPair; token?: string; tls?: boolean }, link = true) =>
    new BackendClient(cluster.node(node).address, {
      deadlineMs: 3000,
      tls: clientTls(o.tls === false ? {} : { ca: fs.readFileSync(creds.ca), cert: o.cert }),
      token: o.token,
      link,
    });

  it('refuses every method to everyone but the coordinator, and the coordinator keeps its pages', async () => {
    const client = cluster.client(10_000);
    const pages = [Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 251)), page(3)];
    const { slots } = await client.swapOut('victim', pages);
    await client.writeback(100);
    const now = new Date();
    const tenant = await issueLeaf(ca, { commonName: 'tenant-x', usage: 'client', days: 30, now });
    const expired = await issueLeaf(ca, {
      commonName: 'vswap-coordinator',
      usage: 'client',
      days: 1,
      now: new Date(now.getTime() - 10 * 86_400_000),
    });
    const otherCa = await createCa({ commonName: 'not the cluster CA', days: 30, now });
    const foreign = await issueLeaf(otherCa, { commonName: 'vswap-coordinator', usage: 'client', days: 30, now });
    const attempts: { who: string; o: { cert?: PemPair; token?: string; tls?: boolean }; code: grpc.status }[] = [
      { who: 'plaintext, with the token', o: { tls: false, token }, code: grpc.status.UNAVAILABLE },
      { who: 'TLS without a client certificate', o: { token }, code: grpc.status.UNAVAILABLE },
      { who: 'a certificate from another CA', o: { cert: foreign, token }, code: grpc.status.UNAVAILABLE },
      { who: 'an expired certificate', o: { cert: expired, token }, code: grpc.status.UNAVAILABLE },
      {
        who: "a tenant's certificate from the cluster CA",
        o: { cert: tenant, token },
        code: grpc.status.UNAUTHENTICATED,
      },
      {
        who: "the coordinator's certificate, no token",
        o: { cert: coordinatorCert() },
        code: grpc.status.UNAUTHENTICATED,
      },
      {
        who: "the coordinator's certificate, a wrong token",
        o: { cert: coordinatorCert(), token: `${token}x` },
        code: grpc.status.UNAUTHENTICATED,
      },
    ];
    for (const node of ['zswap', 'swapfile']) {
      for (const a of attempts) {
        expect(await everyMethod((link) => direct(node, a.o, link)), `${node}: ${a.who}`).toEqual(all(a.code));
      }
    }
    // What the coordinator stored is all there.
    expect(await client.load('victim', slots)).toEqual(pages);
    // The coordinator's certificate with the cluster token: answered.
    const c = direct('swapfile', { cert: coordinatorCert(), token });
    expect((await c.info()).kind).toBe('swapfile');
    c.close();
    client.close();
  });
});

describe('a backend with only a cluster token (loopback, no TLS)', () => {
  let dir: string;
  const services: StartedService[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-token-'));
    fs.writeFileSync(path.join(dir, 'cluster.token'), 'the-cluster-secret\n', { mode: 0o600 });
  });
  afterAll(async () => {
    for (const s of services) await s.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, entry, extra] of [
    ['zswap', 'services/zswap/main.js', []],
    ['swapfile', 'services/swapfile/main.js', ['--path', 'SWAPFILE']],
  ] as const) {
    it(`${name}: refuses every method without the token or with a wrong one`, async () => {
      const args = extra.map((a) => (a === 'SWAPFILE' ? path.join(dir, 'swapfile') : a));
      const s = await startService({
        entry,
        args: ['--listen', '127.0.0.1:0', '--cluster-token-file', path.join(dir, 'cluster.token'), ...args],
      });
      services.push(s);
      const ok = new BackendClient(s.address, { token: 'the-cluster-secret' });
      const { handles } = await ok.put([page(5)]);
      for (const token of [undefined, 'wrong', 'the-cluster-secret ', 'THE-CLUSTER-SECRET']) {
        const guess = token?.trim() === 'the-cluster-secret' ? `${token}x` : token;
        expect(
          await everyMethod((link) => new BackendClient(s.address, { token: guess, link })),
          `token ${String(token)}`,
        ).toEqual(all(grpc.status.UNAUTHENTICATED));
      }
      // The page is still there for the holder of the secret.
      expect((await ok.get(handles)).pages[0]).toEqual(page(5));
      ok.close();
      // Nothing said which part of a guess was wrong, and no token is in the log.
      expect(s.stderr()).not.toContain('the-cluster-secret');
    });
  }
});
