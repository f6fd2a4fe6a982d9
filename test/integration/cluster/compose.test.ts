/**
 * docker-compose.yml, run without Docker: the same services, commands,
 * environment and health checks as local processes (see compose-runner.ts),
 * then a small workload through the SDK. No Docker engine runs where the
 * tests run, so this is what keeps the compose file from rotting.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOptions } from '../../../services/common/config';
import { coordinatorOptions } from '../../../services/coordinator/config';
import { zswapOptionSpecs, ZSWAP_ENV_PREFIX } from '../../../services/zswap/config';
import { swapfileOptions, SWAPFILE_ENV_PREFIX } from '../../../services/swapfile/config';
import * as grpc from '@grpc/grpc-js';
import { VswapClient, VswapClientError } from '../../../clients/sdk';
import { credentialPaths, readTokenFile, type CredentialPaths } from '../../../clients/credentials/layout';
import { BackendClient } from '../../../services/common/backend-client';
import { REPO_ROOT } from '../../support/service';
import { ComposeRunner, environmentOf, isOneShot, metricsPort, readCompose } from './compose-runner';

const compose = readCompose();

/** Which option declarations a compose service's command runs. */
// Options that exist only for crash tests; a deployment never sets them.
const TEST_SEAMS = new Set(['VSWAP_COORDINATOR_CRASH_AFTER_COMMIT_ID']);

const OPTIONS_BY_ENTRY: Record<string, string[]> = {
  'dist/services/coordinator/main.js': describeOptions(coordinatorOptions, 'VSWAP_COORDINATOR').map((r) => r.env),
  'dist/services/zswap/main.js': describeOptions(zswapOptionSpecs, ZSWAP_ENV_PREFIX).map((r) => r.env),
  'dist/services/swapfile/main.js': describeOptions(swapfileOptions, SWAPFILE_ENV_PREFIX).map((r) => r.env),
  // The credentials one-shot takes its directory as a flag and reads no variable.
  'dist/clients/credentials/main.js': [],
};

function textPage(seed: number): Buffer {
  const line = `page ${seed}: the quick brown fox swaps over the lazy dog. `;
  return Buffer.from(line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096));
}

describe('docker-compose.yml', () => {
  it('has redis with persistence and the four vswap services, each with a health check, and a Prometheus scraping them', () => {
    const names = Object.keys(compose.services).filter((n) => n !== 'prometheus' && n !== 'credentials');
    expect(names.sort()).toEqual(['coordinator', 'redis', 'swapfile', 'swapfile-redis', 'zswap']);
    const redis = compose.services.redis!;
    const appendonly = redis.command?.indexOf('--appendonly') ?? -1;
    expect(appendonly).toBeGreaterThan(0);
    expect(redis.command?.[appendonly + 1]).toBe('yes');
    for (const name of names) expect(compose.services[name]!.healthcheck?.test?.[0], name).toBe('CMD');
    // Prometheus scrapes each vswap service's metrics port, published on loopback only.
    expect(compose.services.prometheus?.image).toBe('prom/prometheus:v2.42.0');
    const promConfig = fs.readFileSync(path.join(REPO_ROOT, 'compose/prometheus.yml'), 'utf8');
    for (const name of names.filter((n) => n !== 'redis')) {
      const port = metricsPort(compose.services[name]!);
      expect(port, `${name} serves metrics`).toBeDefined();
      expect(promConfig, `${name} is scraped`).toContain(`"${name}:${port}"`);
    }
    for (const svc of Object.values(compose.services))
      for (const p of svc.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('creates the credentials once, in a volume every vswap service mounts read-only and waits for', () => {
    const creds = compose.services.credentials!;
    expect(isOneShot(creds)).toBe(true);
    expect(creds.command).toEqual(['node', 'dist/clients/credentials/main.js', '--dir', '/creds']);
    expect(creds.volumes).toEqual(['credentials:/creds']);
    for (const name of ['coordinator', 'zswap', 'swapfile', 'swapfile-redis']) {
      const svc = compose.services[name]!;
      expect(svc.volumes, name).toContain('credentials:/creds:ro');
      expect((svc.depends_on as Record<string, { condition?: string }>).credentials?.condition, name).toBe(
        'service_completed_successfully',
      );
      const env = environmentOf(svc);
      const prefix = name === 'coordinator' ? 'VSWAP_COORDINATOR' : name === 'zswap' ? 'VSWAP_ZSWAP' : 'VSWAP_SWAPFILE';
      // TLS on every listener, never --insecure.
      expect(env[`${prefix}_TLS_CERT`], name).toBe('/creds/tls/server.pem');
      expect(env[`${prefix}_INSECURE`], name).toBe('false');
      expect(env[`${prefix}_CLUSTER_TOKEN_FILE`], name).toBe('/creds/cluster.token');
      // Only the coordinator is published; backends require the coordinator's certificate.
      if (name === 'coordinator') expect(env.VSWAP_COORDINATOR_PRINCIPALS).toBe('/creds/principals.yaml');
      else {
        expect(svc.ports, name).toBeUndefined();
        expect(env[`${prefix}_TLS_CA`], name).toBe('/creds/tls/ca.pem');
      }
    }
    expect(environmentOf(compose.services['swapfile-redis']!).VSWAP_SWAPFILE_ENCRYPTION_KEY_FILE).toBe(
      '/creds/redis.key',
    );
  });

  it('stops the coordinator before the backends, with time to write zswap back', () => {
    const coordinator = compose.services.coordinator!;
    // compose stops dependents first: the coordinator depends on every backend.
    expect(Object.keys(coordinator.depends_on ?? {}).sort()).toEqual([
      'credentials',
      'swapfile',
      'swapfile-redis',
      'zswap',
    ]);
    const ms = Number(environmentOf(coordinator).VSWAP_COORDINATOR_STOP_WRITEBACK_MS);
    expect(ms).toBeGreaterThan(0);
    const grace = /^(\d+)s$/.exec(String(coordinator.stop_grace_period ?? ''));
    expect(grace, 'stop_grace_period in seconds').not.toBeNull();
    expect(Number(grace![1]) * 1000).toBeGreaterThan(ms + 5000);
  });

  it('sets every option of each service as its VSWAP_* variable, and no variable the service does not know', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const entry = svc.command?.[1];
      if (svc.command?.[0] !== 'node' || !entry) continue;
      const known = OPTIONS_BY_ENTRY[entry];
      expect(known, `${name}: unknown entry ${entry}`).toBeDefined();
      const set = Object.keys(environmentOf(svc)).filter((k) => k.startsWith('VSWAP_'));
      expect(set.sort(), name).toEqual(known!.filter((env) => !TEST_SEAMS.has(env)).sort());
    }
  });

  it('uses one image for every vswap service, built by the Dockerfile from node:20-slim', () => {
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim/m);
    expect(dockerfile).toMatch(/RUN npm ci/);
    const images = new Set(
      Object.entries(compose.services)
        .filter(([n]) => n !== 'redis' && n !== 'prometheus')
        .map(([, s]) => s.image),
    );
    expect(images.size).toBe(1);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.command?.[0] !== 'node') continue;
      expect(fs.existsSync(path.join(REPO_ROOT, svc.command[1]!)), `${name}: ${svc.command[1]} is built`).toBe(true);
    }
  });
});

describe('docker-compose.yml services as local processes', () => {
  let tmp: string;
  let runner: ComposeRunner;
  let client: VswapClient;
  let creds: CredentialPaths;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-compose-'));
    runner = await ComposeRunner.prepare(compose, tmp);
    try {
      await runner.up();
    } catch (err) {
      await runner.down();
      throw err;
    }
    creds = credentialPaths(runner.volumeDir('credentials'));
    client = new VswapClient({
      address: runner.addressOf('coordinator'),
      deadlineMs: 20_000,
      token: readTokenFile(creds.adminToken) ?? null,
      ca: creds.ca,
    });
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await runner?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lists all three backends, active, with the kinds and stores the file gives them', async () => {
    // The coordinator learns kind and store from each backend's Info: wait for the first poll.
    let backends = await client.listBackends();
    for (let i = 0; i < 100 && backends.some((b) => b.state !== 'active' || b.kind === ''); i++) {
      await new Promise((r) => setTimeout(r, 100));
      backends = await client.listBackends();
    }
    const summary = backends
      .map((b) => ({ name: b.name, kind: b.kind, store: b.store, state: b.state, priority: b.priority }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(summary).toEqual([
      { name: 'remote', kind: 'swapfile', store: 'redis', state: 'active', priority: 0 },
      { name: 'swapfile', kind: 'swapfile', store: 'file', state: 'active', priority: 10 },
      { name: 'zswap', kind: 'zswap', store: 'memory', state: 'active', priority: 0 },
    ]);
  });

  it('swaps out pages of every kind and reads them back byte for byte, also after they move to the Redis tier', async () => {
    const owner = 'compose-test';
    const pages = [Buffer.alloc(4096), textPage(1), randomBytes(4096), textPage(2), Buffer.alloc(4096, 0xab)];
    const { slots, tiers } = await client.swapOut(owner, pages);
    expect(tiers[0]).toBe('TIER_ZERO');
    expect(tiers[1]).toBe('TIER_ZSWAP');
    expect(tiers[2]).toBe('TIER_SWAPFILE'); // incompressible: zswap rejects it, the file takes it
    const big = Array.from({ length: 16 }, (_, i) => (i % 2 ? randomBytes(4096) : textPage(100 + i)));
    const contiguous = await client.swapOut(owner, big, { contiguous: true });
    expect(contiguous.slots[0]! % 16).toBe(0);

    const back = await client.load(owner, slots);
    back.forEach((p, i) => expect(p.equals(pages[i]!), `page ${i}`).toBe(true));

    // Empty the file-backed swapfile and zswap: everything goes to the Redis-backed one.
    for await (const _ of client.swapoff('swapfile')) void _;
    for await (const _ of client.swapoff('zswap')) void _;
    const info = await client.inspect(owner, [...slots, ...contiguous.slots]);
    for (const s of info)
      expect(s.tier === 'TIER_ZERO' || s.backend === 'remote', `slot ${s.slot} on ${s.backend}`).toBe(true);
    const again = await client.load(owner, [...slots, ...contiguous.slots]);
    [...pages, ...big].forEach((p, i) => expect(again[i]!.equals(p), `page ${i} after swapoff`).toBe(true));
    const backends = await client.listBackends();
    expect(backends.find((b) => b.name === 'remote')!.usedPages).toBeGreaterThan(0);

    await client.swapon('swapfile', 10);
    await client.swapon('zswap', 0);
    expect((await client.free(owner, [...slots, ...contiguous.slots])).every((c) => c === 0)).toBe(true);
  });

  it('answers only with a token over TLS; the backends only the coordinator', async () => {
    const anonymous = new VswapClient({ address: runner.addressOf('coordinator'), token: null, ca: creds.ca });
    const refused = await anonymous.stats().catch((e: unknown) => e);
    expect(refused instanceof VswapClientError && refused.codeName).toBe('UNAUTHENTICATED');
    anonymous.close();
    // A backend called with the cluster CA but neither the coordinator's certificate nor its token.
    const stranger = new BackendClient(runner.addressOf('zswap'), {
      tls: { ca: fs.readFileSync(creds.ca) },
      deadlineMs: 5000,
    });
    const err = (await stranger.get([1]).catch((e: unknown) => e)) as { code?: number };
    expect([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]).toContain(err.code);
    stranger.close();
  });

  it("serves every vswap service's metrics where the compose file says", async () => {
    const expected: Record<string, RegExp> = {
      coordinator: /^vswap_pswpout_total \d+$/m,
      zswap: /^vswap_zswap_stored_pages \d+$/m,
      swapfile: /^vswap_swapfile_used_pages \d+$/m,
      'swapfile-redis': /^vswap_swapfile_used_pages \d+$/m,
    };
    for (const [name, re] of Object.entries(expected)) {
      const text = await (await fetch(`http://${runner.metricsAddressOf(name)}/metrics`)).text();
      expect(text, name).toMatch(re);
      expect(text, name).toMatch(/^grpc_server_handled_total\{/m);
    }
  });
});
