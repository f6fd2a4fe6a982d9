/**
 * Bad input at scale: fast-check drives malformed and hostile requests at a
 * live coordinator (while a workload swaps through it under other owners)
 * and at live backends, plus raw HTTP/2 gRPC frames with garbage and
 * truncated payloads. The services stay up, answer with the documented
 * codes, a failed request changes nothing, and the workload is unaffected.
 * Authentication is on (issue 11): the cluster runs with the generator's
 * credentials (TLS, principals, cluster token), the fuzzer calls the
 * coordinator as the admin and the standalone backends with their cluster
 * token, so the hostile input reaches the handlers behind the gates.
 */
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../clients/cluster/local-cluster';
import { readTokenFile, type CredentialPaths } from '../../clients/credentials/layout';
import { makeCredentials } from '../support/auth';
import { Workload, type WorkloadReport } from '../../clients/workload/workload';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../services/common/proto';
import { tlsChannel } from '../../services/common/auth/tls-channel';
import { startService, type StartedService } from '../support/service';

const S = grpc.status;
/** A slot chosen at the time the request is made (pools change as the run goes). */
interface SlotPick {
  kind: string;
  pick: () => number;
}
type Raw = Record<string, (...args: unknown[]) => unknown>;
interface Answer {
  code: grpc.status;
  value?: Record<string, unknown>;
  details?: string;
}

/** The authorization metadata each client sends (the admin token, or a backend's cluster token). */
const authorization = new WeakMap<grpc.Client, string>();

function call(client: grpc.Client, method: string, req: object): Promise<Answer> {
  const md = new grpc.Metadata();
  const a = authorization.get(client);
  if (a !== undefined) md.set('authorization', a);
  return new Promise((resolve) => {
    (client as unknown as Raw)[method]!.call(
      client,
      req,
      md,
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null, res?: Record<string, unknown>) =>
        resolve(err ? { code: err.code, details: err.details } : { code: S.OK, value: res }),
    );
  });
}

function page(kind: number, size = 4096): Buffer {
  const b = Buffer.alloc(size);
  if (kind === 1) b.fill('swap page text '.repeat(4));
  if (kind === 2) for (let i = 0; i < size; i++) b[i] = (i * 131 + kind * 7) & 0xff;
  return b;
}

/** Sends one raw gRPC request body over HTTP/2; resolves with grpc-status (and message). */
function rawGrpc(
  address: string,
  pathName: string,
  body: Buffer,
  auth: { ca?: Buffer; authorization: string },
): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = auth.ca ? http2.connect(`https://${address}`, { ca: auth.ca }) : http2.connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': pathName,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: auth.authorization,
    });
    let status = -1;
    let message = '';
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        message = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('end', () => {
      session.close();
      resolve({ status, message });
    });
    req.on('error', (e) => {
      session.close();
      reject(e);
    });
    req.end(body);
  });
}

function frame(payload: Buffer, declaredLength = payload.length): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt8(0, 0);
  h.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([h, payload]);
}

describe('bad input at scale', () => {
  let dir: string;
  let creds: CredentialPaths;
  let ca: Buffer;
  let adminAuth: string;
  let clusterAuth: string;
  let cluster: LocalCluster;
  let coord: grpc.Client;
  let standalone: StartedService[] = [];
  let workload: Workload;
  let wlRun: Promise<WorkloadReport>;
  const wlAbort = new AbortController();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-fuzz-'));
    creds = await makeCredentials(path.join(dir, 'creds'));
    ca = fs.readFileSync(creds.ca);
    adminAuth = `Bearer ${readTokenFile(creds.adminToken)!}`;
    clusterAuth = `Bearer ${readTokenFile(creds.clusterToken)!}`;
    cluster = await LocalCluster.start({
      dataDir: dir,
      credentials: creds,
      zswap: { poolBytes: '8M' },
      swapfiles: [{ name: 'file0', capacityPages: 16384 }],
    });
    const proto = loadVswapProto();
    const channel = tlsChannel(cluster.address, { ca }, CHANNEL_OPTIONS);
    coord = new proto.vswap.v1.VirtualSwap(cluster.address, channel.credentials, channel.options);
    authorization.set(coord, adminAuth);
    // Backends of their own for the backend fuzz: a backend trusts its coordinator
    // with every handle, so random Deletes must not hit the cluster's.
    standalone = await Promise.all([
      startService({
        entry: 'services/zswap/main.js',
        args: ['--listen', '127.0.0.1:0', '--pool-bytes', '8M', '--cluster-token-file', creds.clusterToken],
      }),
      startService({
        entry: 'services/swapfile/main.js',
        args: [
          '--listen',
          '127.0.0.1:0',
          '--path',
          path.join(dir, 'fuzz.swap'),
          '--capacity-pages',
          '4096',
          '--cluster-token-file',
          creds.clusterToken,
        ],
      }),
    ]);
    workload = new Workload(cluster.client(), {
      processes: 3,
      pagesPerProcess: 256,
      memoryLimitPages: 64,
      seed: 77,
      durationMs: 600_000,
      ownerPrefix: 'fzwl',
      concurrency: 2,
    });
    wlRun = workload.run(wlAbort.signal);
  }, 60_000);

  afterAll(async () => {
    wlAbort.abort();
    await wlRun?.catch(() => undefined);
    coord?.close();
    for (const s of standalone) await s.kill('SIGTERM');
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('coordinator: random and hostile requests get documented codes, failures change nothing, the workload is unaffected', async () => {
    const owners = ['fuzz-a', 'fuzz-b'];
    const live: Record<string, number[]> = { 'fuzz-a': [], 'fuzz-b': [] };
    const freed: number[] = [];
    const victim = (): number[] => [...workload.liveReferences().keys()];
    const badOwners = ['', 'bad owner', 'x'.repeat(129), 'ünïcode', 'a;b'];
    const documented = new Set([
      S.OK,
      S.INVALID_ARGUMENT,
      S.NOT_FOUND,
      S.PERMISSION_DENIED,
      S.FAILED_PRECONDITION,
      S.RESOURCE_EXHAUSTED,
    ]);

    const slotArb: fc.Arbitrary<SlotPick> = fc.oneof(
      fc.constant({ kind: 'zero', pick: () => 0 }),
      fc.constant({ kind: 'huge', pick: () => 2 ** 53 }),
      fc.constant({ kind: 'negative', pick: () => -1 }),
      fc.integer({ min: 1, max: 200_000 }).map((n) => ({ kind: 'random', pick: () => n })),
      fc.nat().map((n) => ({ kind: 'own', pick: () => live['fuzz-a']![n % Math.max(1, live['fuzz-a']!.length)] ?? 1 })),
      fc.nat().map((n) => ({ kind: 'freed', pick: () => freed[n % Math.max(1, freed.length)] ?? 1 })),
      fc.nat().map((n) => ({ kind: 'other-owner', pick: () => victim()[n % Math.max(1, victim().length)] ?? 1 })),
    );
    const pageArb = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 }).map((k) => page(k)) },
      { weight: 1, arbitrary: fc.constantFrom(0, 1, 4095, 4097, 8192).map((n) => page(2, n)) },
    );
    const pagesArb = fc.oneof(
      { weight: 8, arbitrary: fc.array(pageArb, { minLength: 0, maxLength: 6 }) },
      { weight: 1, arbitrary: fc.constant(Array.from({ length: 513 }, () => page(0))) },
    );
    const slotsArb: fc.Arbitrary<SlotPick[]> = fc.oneof(
      { weight: 8, arbitrary: fc.array(slotArb, { minLength: 0, maxLength: 6 }) },
      {
        weight: 1,
        arbitrary: fc.constant(Array.from({ length: 513 }, (_, i) => ({ kind: 'random', pick: () => i + 1 }))),
      },
    );
    const ownerArb = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...owners) },
      { weight: 1, arbitrary: fc.constantFrom(...badOwners) },
    );
    const reqArb = fc.record({
      method: fc.constantFrom(
        'swapOut',
        'allocate',
        'store',
        'load',
        'duplicate',
        'free',
        'inspect',
        'writeback',
        'swapon',
        'stats',
      ),
      owner: ownerArb,
      pages: pagesArb,
      slots: slotsArb,
      count: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 }), fc.constant(513), fc.constant(-1)),
      release: fc.boolean(),
      contiguous: fc.boolean(),
      backend: fc.oneof(fc.constant('zswap'), fc.string({ maxLength: 8 })),
      maxPages: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }), fc.constant(-1)),
    });

    const usedSlots = async (owner: string): Promise<number> => {
      const a = await call(coord, 'stats', { owner });
      return Number((a.value as { usedSlots?: number } | undefined)?.usedSlots ?? 0);
    };
    let requests = 0;
    const codes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(reqArb, async (r) => {
        requests++;
        const slots = r.slots.map((s) => s.pick());
        const owner = r.owner;
        const before = owners.includes(owner) ? await usedSlots(owner) : 0;
        let a: Answer;
        switch (r.method) {
          case 'swapOut':
            a = await call(coord, 'swapOut', { owner, pages: r.pages, contiguous: r.contiguous });
            break;
          case 'allocate':
            a = await call(coord, 'allocate', { owner, count: r.count, contiguous: r.contiguous });
            break;
          case 'store':
            a = await call(coord, 'store', { owner, slots, pages: r.pages });
            break;
          case 'load':
            a = await call(coord, 'load', { owner, slots, release: r.release });
            break;
          case 'writeback':
            a = await call(coord, 'writeback', { maxPages: r.maxPages, owner: owners.includes(owner) ? owner : '' });
            break;
          case 'swapon':
            // An unknown name only; swapping a real backend on/off is the fault suite's job.
            a = await call(coord, 'swapon', {
              backend: r.backend === 'zswap' ? 'no-such-backend' : r.backend,
              priority: 0,
            });
            break;
          case 'stats':
            a = await call(coord, 'stats', { owner });
            break;
          default:
            a = await call(coord, r.method, { owner, slots });
        }
        codes[S[a.code]!] = (codes[S[a.code]!] ?? 0) + 1;
        const ctx =
          `${r.method} owner=${JSON.stringify(owner)} ` +
          `slots=${JSON.stringify(slots)} ` +
          `(${r.slots.map((s) => s.kind).join(',')}) ` +
          `pages=${r.pages.map((p) => p.length).join(',')} count=${r.count} -> ` +
          `${S[a.code]} ${a.details ?? ''}`;
        expect(documented.has(a.code), ctx).toBe(true);
        // Request-wide checks decide first.
        const ownerMatters = !['writeback', 'swapon', 'stats'].includes(r.method);
        if (ownerMatters && badOwners.includes(owner)) expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
        if ((r.method === 'swapOut' || r.method === 'store') && r.pages.some((p) => p.length !== 4096))
          expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
        if (['load', 'duplicate', 'free', 'inspect', 'store'].includes(r.method) && slots.length > 512)
          expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
        if (r.method === 'swapon') expect(a.code, ctx).toBe(S.FAILED_PRECONDITION);
        if (r.method === 'allocate' && (r.count === 0 || r.count === 513) && !badOwners.includes(owner))
          expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
        // One slot, nothing else wrong: the slot decides.
        if (
          slots.length === 1 &&
          owners.includes(owner) &&
          ['load', 'duplicate', 'free', 'inspect'].includes(r.method)
        ) {
          const kind = r.slots[0]!.kind;
          if (kind === 'zero' || kind === 'huge') expect(a.code, ctx).toBe(S.NOT_FOUND);
          if (kind === 'negative') expect([S.NOT_FOUND, S.INVALID_ARGUMENT], ctx).toContain(a.code);
          if (kind === 'other-owner' && victim().includes(slots[0]!))
            expect([S.PERMISSION_DENIED, S.NOT_FOUND], ctx).toContain(a.code);
        }
        // A failed request changes nothing.
        if (a.code !== S.OK && owners.includes(owner)) expect(await usedSlots(owner), ctx).toBe(before);
        // Keep track of our own slots, for later requests to use.
        if (a.code === S.OK && owners.includes(owner)) {
          const v = a.value as { slots?: (number | string)[]; counts?: number[] };
          if ((r.method === 'swapOut' || r.method === 'allocate') && v.slots) live[owner]!.push(...v.slots.map(Number));
          const counts =
            r.method === 'free' ? v.counts : r.method === 'load' && r.release ? slots.map(() => -1) : undefined;
          if (counts) {
            const left = new Set(live[owner]);
            for (const s of slots) {
              const info = await call(coord, 'inspect', { owner, slots: [s] });
              if (info.code === S.NOT_FOUND) {
                left.delete(s);
                freed.push(s);
              }
            }
            live[owner] = [...left];
          }
        }
      }),
      { numRuns: 400, seed: 4242 },
    );
    expect(requests).toBe(400);
    // Raw encodings of out-of-range ids: -1 as a uint64 is 2^64-1; a string id of 2^64.
    for (const bad of [-1, '18446744073709551615', '18446744073709551616']) {
      const a = await call(coord, 'free', { owner: 'fuzz-a', slots: [bad] });
      expect([S.NOT_FOUND, S.INVALID_ARGUMENT], `free ${bad}: ${S[a.code]} ${a.details}`).toContain(a.code);
    }
    // The workload swapping alongside saw no error and no corruption.
    const report = await (async () => {
      wlAbort.abort();
      return wlRun;
    })();
    expect(report.corruptions).toBe(0);
    expect(report.errors).toEqual({});
    expect(report.pagesOut).toBeGreaterThan(0);
    const verify = await workload.verifyAll();
    expect(verify.corruptions).toBe(0);
    expect(verify.errors).toEqual({});
    // Every process is still up.
    for (const n of cluster.nodes.values()) expect(n.service?.child.exitCode, n.name).toBeNull();
    process.stderr.write(`fuzz: ${requests} coordinator requests, codes ${JSON.stringify(codes)}\n`);
  }, 120_000);

  it('backends: random handles, sizes and batches get documented codes and the backend stays up', async () => {
    const proto = loadVswapProto();
    for (const svc of standalone) {
      const b = new proto.vswap.v1.Backend(svc.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      authorization.set(b, clusterAuth);
      const stored: number[] = [];
      const handleArb = fc.oneof(
        fc.constant(0),
        fc.constant(2 ** 53),
        fc.integer({ min: 1, max: 100_000 }),
        fc.nat().map((n) => stored[n % Math.max(1, stored.length)] ?? 1),
      );
      const documented = new Set([S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.RESOURCE_EXHAUSTED]);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('put', 'get', 'delete', 'coldest', 'info'),
          fc.array(
            fc.oneof(
              { weight: 5, arbitrary: fc.constant(4096) },
              { weight: 1, arbitrary: fc.constantFrom(0, 4095, 4097) },
            ),
            { maxLength: 5 },
          ),
          fc.oneof(
            { weight: 8, arbitrary: fc.array(handleArb, { maxLength: 5 }) },
            { weight: 1, arbitrary: fc.constant(Array.from({ length: 513 }, (_, i) => i + 1)) },
          ),
          fc.boolean(),
          async (method, sizes, handles, flag) => {
            let a: Answer;
            if (method === 'put') a = await call(b, 'put', { pages: sizes.map((n, i) => page(i % 3, n)) });
            else if (method === 'get') a = await call(b, 'get', { handles, touch: flag });
            else if (method === 'delete')
              a = await call(b, 'delete', { handles, reason: 'DELETE_FREED', ignoreMissing: flag });
            else if (method === 'coldest') a = await call(b, 'coldest', { maxPages: handles.length * 100 });
            else a = await call(b, 'info', {});
            const ctx =
              `${svc.address} ${method} sizes=${sizes} ` +
              `handles=${JSON.stringify(handles)} flag=${flag} -> ${S[a.code]} ` +
              `${a.details ?? ''}`;
            expect(documented.has(a.code), ctx).toBe(true);
            if (method === 'put' && sizes.some((n) => n !== 4096)) expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
            if ((method === 'get' || method === 'delete') && handles.length > 512)
              expect(a.code, ctx).toBe(S.INVALID_ARGUMENT);
            if (method === 'get' && handles.length === 1 && (handles[0] === 0 || handles[0] === 2 ** 53))
              expect([S.NOT_FOUND, S.INVALID_ARGUMENT], ctx).toContain(a.code);
            if (method === 'put' && a.code === S.OK)
              stored.push(...(a.value as { handles: (number | string)[] }).handles.map(Number).filter((h) => h > 0));
          },
        ),
        { numRuns: 150, seed: 99 },
      );
      b.close();
      expect(svc.child.exitCode).toBeNull();
    }
  }, 120_000);

  it('raw HTTP/2 frames: garbage and truncated protobuf get a gRPC status, and every service keeps serving', async () => {
    const targets = [
      { address: cluster.address, path: '/vswap.v1.VirtualSwap/Load', auth: { ca, authorization: adminAuth } },
      { address: cluster.address, path: '/vswap.v1.VirtualSwap/SwapOut', auth: { ca, authorization: adminAuth } },
      ...standalone.map((s) => ({
        address: s.address,
        path: '/vswap.v1.Backend/Put',
        auth: { authorization: clusterAuth },
      })),
    ];
    const bodies: [string, Buffer][] = [
      ['garbage payload', frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01]))],
      ['field with a length past the end', frame(Buffer.from([0x12, 0x7f, 0x01, 0x02]))],
      ['truncated length prefix', Buffer.from([0x00, 0x00, 0x00])],
      ['declared length longer than the body', frame(Buffer.from([0x0a, 0x01, 0x61]), 1000)],
      [
        'compressed flag without an encoding',
        Buffer.concat([Buffer.from([0x01]), frame(Buffer.from([0x0a, 0x00])).subarray(1)]),
      ],
      ['no message at all', Buffer.alloc(0)],
    ];
    const seen: string[] = [];
    for (const t of targets) {
      for (const [name, body] of bodies) {
        const r = await rawGrpc(t.address, t.path, body, t.auth);
        seen.push(`${t.path} ${name}: ${S[r.status] ?? r.status} ${r.message}`);
        // grpc-js answers an unparseable or incomplete request with INTERNAL or UNIMPLEMENTED
        // ("Error deserializing request", "received no message"); never OK, never silence.
        expect(
          [S.INTERNAL, S.UNIMPLEMENTED, S.INVALID_ARGUMENT, S.RESOURCE_EXHAUSTED],
          `${t.path} ${name}: ${r.status} ${r.message}`,
        ).toContain(r.status);
      }
    }
    // Still serving: a real request works on each service.
    const proto = loadVswapProto();
    expect((await call(coord, 'stats', { owner: '' })).code).toBe(S.OK);
    for (const svc of standalone) {
      const b = new proto.vswap.v1.Backend(svc.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      authorization.set(b, clusterAuth);
      expect((await call(b, 'info', {})).code).toBe(S.OK);
      b.close();
      expect(svc.child.exitCode).toBeNull();
    }
    process.stderr.write(`raw frames:\n${seen.join('\n')}\n`);
  }, 60_000);
});
