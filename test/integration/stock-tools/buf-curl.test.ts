/**
 * A stock gRPC tool against the coordinator: `buf curl` (the @bufbuild/buf
 * devDependency) with server reflection instead of our proto files, as a user
 * without this repo would call it. Health goes through `--schema` with the
 * standard health proto (buf cannot resolve grpc.health.v1 through
 * grpc-node's reflection; see PERFORMANCE.md). The cluster has credentials,
 * as `npm start` makes them: buf checks the coordinator's certificate with
 * the cluster CA (--cacert) and sends the admin token (-H authorization).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import { REPO_ROOT } from '../../support/service';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import { readTokenFile, type CredentialPaths } from '../../../clients/credentials/layout';

const BUF = path.join(REPO_ROOT, 'node_modules/.bin/buf');

interface CurlResult {
  status: number | null;
  /** Parsed stdout (the response), or undefined when empty. */
  json: unknown;
  stdout: string;
  stderr: string;
}

let cluster: LocalCluster;
let tmp: string;
let creds: CredentialPaths;

/** --cacert and the authorization header, as the README gives them. */
const credentialFlags = (): string[] => [
  '--cacert',
  creds.ca,
  '-H',
  `authorization: Bearer ${readTokenFile(creds.adminToken)}`,
];

/**
 * buf curl --protocol grpc --cacert ca.pem -H "authorization: Bearer <token>" [extra] -d body
 * https://coordinator/method
 */
function bufCurl(
  method: string,
  body: object | undefined,
  extra: string[] = [],
  credentials = credentialFlags(),
): CurlResult {
  const args = ['curl', '--protocol', 'grpc', ...credentials, ...extra];
  if (body !== undefined) args.push('-d', JSON.stringify(body));
  args.push(`https://${cluster.address}/${method}`);
  // HOME in the temp dir: buf keeps a cache there; the user's own is none of our business.
  const r = spawnSync(BUF, args, {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'cache') },
  });
  const out = r.stdout.trim();
  return { status: r.status, json: out === '' ? undefined : JSON.parse(out), stdout: r.stdout, stderr: r.stderr };
}

describe('buf curl against the coordinator', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-buf-'));
    creds = (await ensureCredentials({ dir: path.join(tmp, 'credentials') })).paths;
    cluster = await LocalCluster.start({
      credentials: creds,
      dataDir: path.join(tmp, 'cluster'),
      zswap: { poolBytes: '4M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096, priority: 5 }],
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the services through reflection, ours and the health service', () => {
    // --list-services, not --list-methods: buf cannot resolve the health service's
    // methods through grpc-node's reflection, and --list-methods needs all of them.
    const r = spawnSync(
      BUF,
      ['curl', '--protocol', 'grpc', ...credentialFlags(), '--list-services', `https://${cluster.address}`],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: tmp } },
    );
    expect(r.status, r.stderr).toBe(0);
    const services = r.stdout.trim().split('\n');
    expect(services).toContain('vswap.v1.VirtualSwap');
    expect(services).toContain('grpc.health.v1.Health');
  });

  it('allocates slots, and shows them in Stats and Inspect', () => {
    const alloc = bufCurl('vswap.v1.VirtualSwap/Allocate', { owner: 'buf', count: 2 });
    expect(alloc.status, alloc.stderr).toBe(0);
    const slots = (alloc.json as { slots: string[] }).slots;
    // uint64 is a string in proto3 JSON.
    expect(slots).toHaveLength(2);
    for (const s of slots) expect(s).toMatch(/^[1-9]\d*$/);

    const inspect = bufCurl('vswap.v1.VirtualSwap/Inspect', { owner: 'buf', slots });
    expect(inspect.status, inspect.stderr).toBe(0);
    const infos = (inspect.json as { slots: { slot: string; count: number; tier: string; owner: string }[] }).slots;
    expect(infos.map((i) => [i.slot, i.count, i.tier, i.owner])).toEqual(slots.map((s) => [s, 1, 'TIER_EMPTY', 'buf']));

    const stats = bufCurl('vswap.v1.VirtualSwap/Stats', { owner: 'buf' });
    expect(stats.status, stats.stderr).toBe(0);
    const st = stats.json as {
      usedSlots: string;
      pagesByTier: { name: string; value?: string }[];
      maxSwapCount: string;
    };
    expect(st.usedSlots).toBe('2');
    expect(st.pagesByTier.find((c) => c.name === 'TIER_EMPTY')?.value).toBe('2');
    expect(Number(st.maxSwapCount)).toBeGreaterThanOrEqual(65535);
  });

  it('stores and loads a page as base64, the same bytes back', () => {
    const page = Buffer.alloc(4096);
    page.write('hello from buf curl', 100);
    const out = bufCurl('vswap.v1.VirtualSwap/SwapOut', { owner: 'buf', pages: [page.toString('base64')] });
    expect(out.status, out.stderr).toBe(0);
    const { slots, tiers } = out.json as { slots: string[]; tiers: string[] };
    expect(tiers).toEqual(['TIER_ZSWAP']);
    const load = bufCurl('vswap.v1.VirtualSwap/Load', { owner: 'buf', slots, release: true });
    expect(load.status, load.stderr).toBe(0);
    const pages = (load.json as { pages: string[] }).pages;
    expect(Buffer.from(pages[0]!, 'base64').equals(page)).toBe(true);
  });

  it('lists the backends like /proc/swaps', () => {
    const r = bufCurl('vswap.v1.VirtualSwap/ListBackends', {});
    expect(r.status, r.stderr).toBe(0);
    const backends = (
      r.json as {
        backends: {
          name: string;
          kind: string;
          store: string;
          state: string;
          priority?: number;
          capacityPages: string;
        }[];
      }
    ).backends;
    expect(backends.map((b) => [b.name, b.kind, b.store, b.state, b.priority ?? 0]).sort()).toEqual([
      ['file0', 'swapfile', 'file', 'active', 5],
      ['zswap', 'zswap', 'memory', 'active', 0],
    ]);
    expect(backends.find((b) => b.name === 'file0')?.capacityPages).toBe('4096');
  });

  it('reports an error with its gRPC code, and the request changed nothing', () => {
    const before = bufCurl('vswap.v1.VirtualSwap/Stats', {}).json as { usedSlots?: string };
    const r = bufCurl('vswap.v1.VirtualSwap/Load', { owner: 'buf', slots: ['999999'] });
    expect(r.status).not.toBe(0);
    const err = JSON.parse(r.stderr) as { code: string; message: string };
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/999999/);

    const bad = bufCurl('vswap.v1.VirtualSwap/Allocate', { owner: 'buf', count: 0 });
    expect(bad.status).not.toBe(0);
    expect((JSON.parse(bad.stderr) as { code: string }).code).toBe('invalid_argument');
    const after = bufCurl('vswap.v1.VirtualSwap/Stats', {}).json as { usedSlots?: string };
    expect(after.usedSlots).toBe(before.usedSlots);
  });

  it("runs the README's buf curl commands as written, from a directory holding .vswap/", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const from = readme.indexOf('Any gRPC tool works too');
    const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
    expect(block).toBeDefined();
    const dir = path.join(tmp, 'readme');
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(path.join(dir, '.vswap'))) fs.symlinkSync(creds.dir, path.join(dir, '.vswap'));
    const script = block!
      .replaceAll('127.0.0.1:50051', cluster.address)
      .replaceAll('node_modules/', `${path.join(REPO_ROOT, 'node_modules')}/`);
    const r = spawnSync('bash', ['-e', '-c', script], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, HOME: tmp },
    });
    expect(r.status, r.stderr).toBe(0);
    // Three answers: the allocated slots, the backends, SERVING.
    expect(r.stdout).toMatch(/"slots": \[\s*"\d+",\s*"\d+"\s*\]/);
    expect(r.stdout).toContain('"name": "file0"');
    expect(r.stdout).toContain('"status": "SERVING"');
  });

  it('is refused without the token (UNAUTHENTICATED) or without the CA (the certificate is not trusted)', () => {
    const noToken = bufCurl(
      'vswap.v1.VirtualSwap/Stats',
      {},
      ['--schema', path.join(REPO_ROOT, 'proto')],
      ['--cacert', creds.ca],
    );
    expect(noToken.status).not.toBe(0);
    expect((JSON.parse(noToken.stderr) as { code: string }).code).toBe('unauthenticated');
    const wrongToken = bufCurl(
      'vswap.v1.VirtualSwap/Stats',
      {},
      ['--schema', path.join(REPO_ROOT, 'proto')],
      ['--cacert', creds.ca, '-H', 'authorization: Bearer vswap_wrong'],
    );
    expect((JSON.parse(wrongToken.stderr) as { code: string }).code).toBe('unauthenticated');
    // With the schema given (through reflection buf only says it found no service).
    const noCa = bufCurl(
      'vswap.v1.VirtualSwap/Stats',
      {},
      ['--schema', path.join(REPO_ROOT, 'proto')],
      ['-H', `authorization: Bearer ${readTokenFile(creds.adminToken)}`],
    );
    expect(noCa.status).not.toBe(0);
    expect(JSON.parse(noCa.stderr)).toEqual({
      code: 'unavailable',
      message: 'x509: certificate signed by unknown authority',
    });
  });

  it('checks health with the standard health service (schema from the health proto)', () => {
    const schema = ['--schema', healthProtoPath];
    const all = bufCurl('grpc.health.v1.Health/Check', {}, schema);
    expect(all.status, all.stderr).toBe(0);
    expect(all.json).toEqual({ status: 'SERVING' });
    const svc = bufCurl('grpc.health.v1.Health/Check', { service: 'vswap.v1.VirtualSwap' }, schema);
    expect(svc.status, svc.stderr).toBe(0);
    expect(svc.json).toEqual({ status: 'SERVING' });
    const unknown = bufCurl('grpc.health.v1.Health/Check', { service: 'no.such.Service' }, schema);
    expect((JSON.parse(unknown.stderr) as { code: string }).code).toBe('not_found');
  });
});
