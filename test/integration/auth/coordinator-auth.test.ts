/**
 * The coordinator as an attacker sees it (issue 11): a secure cluster from
 * the credentials generator (TLS, principals file, cluster token, client
 * certificates towards the backends), real processes, and clients that send
 * no token, a wrong one, or a valid tenant's token acting for another tenant,
 * probing slot ids, calling admin methods and pushing past their limits.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import { readTokenFile } from '../../../clients/credentials/layout';
import type { CredentialPaths } from '../../../clients/credentials/layout';
import { VswapClient } from '../../../clients/sdk/client';
import { freePort } from '../../support/ports';
import { expectCode, until } from '../coordinator/helpers';
import {
  type RawClientOptions,
  addPrincipals,
  bearer,
  makeCredentials,
  rawCoordinator,
  streamOutcome,
  unaryOutcome,
  writeAtomically,
} from '../../support/auth';

const page = (b: number): Buffer => Buffer.alloc(4096, b);

describe('coordinator with authentication', () => {
  let dir: string;
  let creds: CredentialPaths;
  let cluster: LocalCluster;
  let tokens: Record<string, string>;
  let adminToken: string;
  let metricsAddress: string;
  const clients: VswapClient[] = [];
  const as = (token: string | null): VswapClient => {
    const c = new VswapClient({ address: cluster.address, token, ca: creds.ca, deadlineMs: 10_000, readRetries: 0 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-auth-'));
    creds = await makeCredentials(path.join(dir, 'creds'));
    tokens = addPrincipals(creds.principals, [
      { name: 'tenant-a', role: 'client', owners: ['tenant-a/*'] },
      { name: 'tenant-b', role: 'client', owners: ['tenant-b/*', 'shared'] },
      { name: 'small', role: 'client', owners: ['small/*'], limits: { max_owners: 2, max_slots: 8, max_in_flight: 1 } },
      { name: 'burst', role: 'client', owners: ['burst/*'], limits: { max_owners: 2, max_slots: 8, max_in_flight: 0 } },
    ]);
    adminToken = readTokenFile(creds.adminToken)!;
    metricsAddress = `127.0.0.1:${await freePort()}`;
    cluster = await LocalCluster.start({
      dataDir: path.join(dir, 'cluster'),
      credentials: creds,
      swapfiles: [{ name: 'swapfile' }],
      coordinatorArgs: ['--metrics-listen', metricsAddress],
      env: { VSWAP_LOG_LEVEL: 'info' },
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const raw = (o: RawClientOptions) => rawCoordinator(cluster.address, o);

  /** One request per method, each valid but for its credential. */
  const everyMethod: [string, object][] = [
    ['SwapOut', { owner: 'tenant-a/x', pages: [page(1)] }],
    ['Allocate', { owner: 'tenant-a/x', count: 1 }],
    ['Store', { owner: 'tenant-a/x', slots: [1], pages: [page(1)] }],
    ['Load', { owner: 'tenant-a/x', slots: [1] }],
    ['Duplicate', { owner: 'tenant-a/x', slots: [1] }],
    ['Free', { owner: 'tenant-a/x', slots: [1] }],
    ['Inspect', { owner: 'tenant-a/x', slots: [1] }],
    ['Writeback', { maxPages: 1 }],
    ['Swapon', { backend: 'swapfile', priority: 0 }],
    ['ListBackends', {}],
    ['Stats', {}],
    ['SetOwnerPolicy', { owner: 'tenant-a/x', update: false }],
  ];

  it('answers UNAUTHENTICATED to every method without a credential, with a wrong token or a malformed one', async () => {
    const ca = fs.readFileSync(creds.ca);
    for (const authorization of [undefined, bearer('vswap_not-a-token'), 'Basic dXNlcjpwYXNz', bearer('')]) {
      const o = { ca, authorization };
      const c = raw(o);
      for (const [method, req] of everyMethod) {
        const out = await unaryOutcome(c, method, req, o);
        expect(out.code, `${method} with ${authorization ?? 'nothing'}`).toBe(grpc.status.UNAUTHENTICATED);
        expect(out.details).not.toContain('vswap_not-a-token');
      }
      expect((await streamOutcome(c, 'Swapoff', { backend: 'swapfile' }, o)).code).toBe(grpc.status.UNAUTHENTICATED);
      c.close();
    }
    // The SDK without a token gets the same, with a message that says what is missing.
    await expectCode(as(null).stats(), grpc.status.UNAUTHENTICATED, /no credentials/);
    // A token from the principals file itself (its hash) is not a token.
    const hash = /token_sha256: (\w+)/.exec(fs.readFileSync(creds.principals, 'utf8'))![1]!;
    await expectCode(as(hash).stats(), grpc.status.UNAUTHENTICATED);
  });

  it('serves only TLS: a plaintext client does not get through', async () => {
    const o = { authorization: bearer(adminToken) };
    const c = raw(o);
    const out = await unaryOutcome(c, 'ListBackends', {}, o, 3000);
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(out.code);
    c.close();
  });

  it("keeps a tenant away from another tenant's owner: PERMISSION_DENIED, and nothing changes", async () => {
    const a = as(tokens['tenant-a']!);
    const b = as(tokens['tenant-b']!);
    const { slots } = await b.swapOut('tenant-b/app', [page(7), page(8)]);
    const victim = 'tenant-b/app';
    await expectCode(a.load(victim, slots), grpc.status.PERMISSION_DENIED, /tenant-a.*tenant-b\/app/);
    await expectCode(a.load(victim, slots, { release: true }), grpc.status.PERMISSION_DENIED);
    await expectCode(a.free(victim, slots), grpc.status.PERMISSION_DENIED);
    await expectCode(a.duplicate(victim, slots), grpc.status.PERMISSION_DENIED);
    await expectCode(a.store(victim, slots, [page(0), page(0)]), grpc.status.PERMISSION_DENIED);
    await expectCode(a.inspect(victim, slots), grpc.status.PERMISSION_DENIED);
    await expectCode(a.stats(victim), grpc.status.PERMISSION_DENIED);
    await expectCode(a.swapOut(victim, [page(1)]), grpc.status.PERMISSION_DENIED);
    await expectCode(a.allocate(victim, 1), grpc.status.PERMISSION_DENIED);
    await expectCode(a.swapOut('shared', [page(1)]), grpc.status.PERMISSION_DENIED);
    // The prefix is "tenant-a/", not "tenant-a": a look-alike owner is someone else's.
    await expectCode(a.swapOut('tenant-a', [page(1)]), grpc.status.PERMISSION_DENIED);
    await expectCode(a.swapOut('tenant-a-evil/x', [page(1)]), grpc.status.PERMISSION_DENIED);
    // B's pages are as they were.
    expect((await b.inspect(victim, slots)).map((s) => s.count)).toEqual([1, 1]);
    expect(await b.load(victim, slots)).toEqual([page(7), page(8)]);
  });

  it("answers a probe of another tenant's slot ids exactly as for slots that do not exist", async () => {
    const a = as(tokens['tenant-a']!);
    const b = as(tokens['tenant-b']!);
    const admin = as(adminToken);
    const { slots: theirs } = await b.swapOut('tenant-b/probe', [page(3)]);
    await a.swapOut('tenant-a/probe', [page(4)]);
    const { slots: gone } = await a.swapOut('tenant-a/probe', [page(5)]);
    await a.free('tenant-a/probe', gone);
    const never = 0x7ffffff0;
    const owner = 'tenant-a/probe';
    const shape = async (p: Promise<unknown>, slot: number): Promise<string> => {
      const err = await expectCode(p, grpc.status.NOT_FOUND);
      return `${err.codeName} ${err.message.replace(String(slot), 'N')}`;
    };
    for (const [name, call] of [
      ['Load', (s: number) => a.load(owner, [s])],
      ['Free', (s: number) => a.free(owner, [s])],
      ['Duplicate', (s: number) => a.duplicate(owner, [s])],
      ['Store', (s: number) => a.store(owner, [s], [page(9)])],
      ['Inspect', (s: number) => a.inspect(owner, [s])],
    ] as const) {
      const probe = await shape(call(theirs[0]!), theirs[0]!);
      expect(probe, name).toBe(await shape(call(never), never));
      expect(probe, name).toBe(await shape(call(gone[0]!), gone[0]!));
    }
    // An admin (who may see every owner) is told the slot is someone else's; the data is untouched.
    await expectCode(admin.load(owner, theirs), grpc.status.PERMISSION_DENIED, /another owner/);
    expect(await b.load('tenant-b/probe', theirs)).toEqual([page(3)]);
  });

  it("shows a client only its owners in Stats; an admin sees everyone's", async () => {
    const a = as(tokens['tenant-a']!);
    const b = as(tokens['tenant-b']!);
    await a.swapOut('tenant-a/stats', [page(1), page(2)]);
    await b.swapOut('tenant-b/stats', [page(1)]);
    const mine = await a.stats();
    expect(mine.owners.length).toBeGreaterThan(0);
    for (const o of mine.owners) expect(o.owner).toMatch(/^tenant-a\//);
    const sum = mine.owners.reduce((n, o) => n + Number(o.usedSlots), 0);
    expect(Number(mine.usedSlots)).toBe(sum);
    const all = await as(adminToken).stats();
    expect(all.owners.map((o) => o.owner)).toEqual(expect.arrayContaining(['tenant-a/stats', 'tenant-b/stats']));
    expect(Number(all.usedSlots)).toBeGreaterThan(sum);
    // Its own owner with a filter works; an admin may look at any owner.
    expect(Number((await a.stats('tenant-a/stats')).usedSlots)).toBe(2);
    expect(Number((await as(adminToken).stats('tenant-a/stats')).usedSlots)).toBe(2);
  });

  it('keeps Writeback, Swapoff, Swapon and SetOwnerPolicy for admins', async () => {
    const a = as(tokens['tenant-a']!);
    await expectCode(a.writeback(10), grpc.status.PERMISSION_DENIED, /admins/);
    await expectCode(a.writeback(10, 'tenant-a/x'), grpc.status.PERMISSION_DENIED);
    await expectCode(a.swapon('swapfile', 5), grpc.status.PERMISSION_DENIED);
    await expectCode(a.setOwnerPolicy('tenant-a/x', { swapMaxPages: 1_000_000 }), grpc.status.PERMISSION_DENIED);
    const o = { ca: fs.readFileSync(creds.ca), authorization: bearer(tokens['tenant-a']!) };
    const c = raw(o);
    expect((await streamOutcome(c, 'Swapoff', { backend: 'swapfile' }, o)).code).toBe(grpc.status.PERMISSION_DENIED);
    c.close();
    // A client may read its own owners' policy, not anyone else's.
    expect((await a.getOwnerPolicy('tenant-a/x')).owner).toBe('tenant-a/x');
    await expectCode(a.getOwnerPolicy('tenant-b/app'), grpc.status.PERMISSION_DENIED);
    // The swapfile is still on (the refused Swapoff did nothing); an admin may do all of it.
    const admin = as(adminToken);
    expect((await admin.listBackends()).find((x) => x.name === 'swapfile')?.state).toMatch(/ACTIVE|active/i);
    expect(await admin.writeback(10)).toBeGreaterThanOrEqual(0);
    expect((await admin.setOwnerPolicy('tenant-a/x', { swapMaxPages: 100 })).swapMaxPages).toBe(100);
    // Anyone authenticated may list the backends.
    expect((await a.listBackends()).length).toBeGreaterThan(0);
  });

  it('holds a principal to its limits on owners, slots and calls in flight (RESOURCE_EXHAUSTED)', async () => {
    const s = as(tokens.small!);
    const { slots: one } = await s.swapOut('small/1', [page(1), page(2), page(3), page(4), page(5), page(6)]);
    const { slots: two } = await s.swapOut('small/2', [page(1)]);
    // Owners: a third one, whatever its name, is refused.
    await expectCode(s.swapOut('small/3', [page(1)]), grpc.status.RESOURCE_EXHAUSTED, /owners/);
    await expectCode(s.allocate('small/anything', 1), grpc.status.RESOURCE_EXHAUSTED, /owners/);
    // Slots over all its owners: 7 held, 8 allowed.
    await expectCode(s.swapOut('small/2', [page(1), page(2)]), grpc.status.RESOURCE_EXHAUSTED, /slots/);
    const { slots: more } = await s.swapOut('small/2', [page(1)]);
    await expectCode(s.allocate('small/1', 1), grpc.status.RESOURCE_EXHAUSTED, /slots/);
    expect(Number((await s.stats()).usedSlots)).toBe(8);
    // Freeing an owner's slots makes room for another owner.
    await s.free('small/2', [...two, ...more]);
    await s.swapOut('small/3', [page(1)]);
    expect((await s.stats()).owners.map((o) => o.owner).sort()).toEqual(['small/1', 'small/3']);
    // Calls in flight: with every backend paused a SwapOut waits; a call meanwhile is refused.
    const backends = [...cluster.nodes.values()].filter((n) => n.kind !== 'coordinator').map((n) => n.name);
    for (const n of backends) cluster.pause(n);
    // Random bytes: a page of one repeated byte needs no backend.
    const start = (): Promise<string> =>
      s.swapOut('small/1', [randomBytes(4096)]).then(
        () => 'done',
        (e: unknown) => (e as Error).message,
      );
    let slow = start();
    try {
      const refused = await until(
        async () => {
          // The probe itself may have been in flight when the SwapOut came: send the SwapOut again.
          const settled = await Promise.race([slow, Promise.resolve('pending')]);
          if (/calls in flight/.test(settled)) slow = start();
          return s.inspect('small/1', [one[0]!]).then(
            () => 'ok',
            (e: unknown) => (e as Error).message,
          );
        },
        (m) => m !== 'ok',
        10_000,
      );
      expect(refused).toMatch(/calls in flight/);
    } finally {
      for (const n of backends) cluster.resume(n);
    }
    await slow;
    const back = await until(
      () =>
        s.stats().then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      15_000,
    );
    expect(back).toBe(true);
  });

  it('reserves slots and owners at admission: calls in flight together never pass max_slots or max_owners', async () => {
    const s = as(tokens.burst!);
    const backends = [...cluster.nodes.values()].filter((n) => n.kind !== 'coordinator').map((n) => n.name);
    // Random bytes: a page of one repeated byte needs no backend, so these wait for the paused backends.
    const pages = (n: number): Buffer[] => Array.from({ length: n }, () => randomBytes(4096));
    const outcomes: (number | string)[] = [];
    const send = (owner: string, n: number): Promise<void> =>
      s.swapOut(owner, pages(n)).then(
        (r) => void outcomes.push(r.slots.length),
        (e: unknown) => void outcomes.push((e as Error).message),
      );
    for (const n of backends) cluster.pause(n);
    let calls: Promise<void>[];
    try {
      // Two calls of 3 fit in 8 slots: three refusals come back while those two wait.
      calls = Array.from({ length: 5 }, () => send('burst/a', 3));
      const refused = (n: number): Promise<number> =>
        until(
          () => Promise.resolve(outcomes.length),
          (k) => k >= n,
          10_000,
        );
      expect(await refused(3), JSON.stringify(outcomes)).toBe(3);
      expect(outcomes.filter((o) => typeof o === 'string' && /3 more asked/.test(o))).toHaveLength(3);
      // One more owner fits in 2 (burst/a counts while its calls are in flight): of b and c, whichever comes first.
      calls.push(send('burst/b', 1), send('burst/c', 1));
      expect(await refused(4), JSON.stringify(outcomes)).toBe(4);
      expect(outcomes[3]).toMatch(/owner "burst\/[bc]" cannot be added/);
    } finally {
      for (const n of backends) cluster.resume(n);
    }
    await Promise.all(calls);
    expect(outcomes.filter((o) => typeof o === 'number').sort()).toEqual([1, 3, 3]);
    const st = await s.stats();
    expect(Number(st.usedSlots)).toBe(7);
    const owners = st.owners.map((o) => o.owner).sort();
    expect(owners).toHaveLength(2);
    expect(owners[0]).toBe('burst/a');
    await expectCode(s.swapOut('burst/a', pages(2)), grpc.status.RESOURCE_EXHAUSTED, /holds 7 slots of its limit 8/);
  });

  it('counts every refused call by method and reason, and logs the principal but never a token', async () => {
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const count = (method: string, reason: string): number => {
      const m = new RegExp(`^vswap_auth_refused_total\\{method="${method}",reason="${reason}"\\} (\\d+)`, 'm').exec(
        text,
      );
      return m ? Number(m[1]) : 0;
    };
    expect(count('SwapOut', 'no_credentials')).toBeGreaterThan(0);
    expect(count('SwapOut', 'bad_token')).toBeGreaterThan(0);
    expect(count('Load', 'owner_not_allowed')).toBeGreaterThan(0);
    expect(count('Load', 'slot_not_visible')).toBeGreaterThan(0);
    expect(count('Writeback', 'admin_only')).toBeGreaterThan(0);
    expect(count('SwapOut', 'max_owners')).toBeGreaterThan(0);
    expect(count('Inspect', 'max_in_flight')).toBeGreaterThan(0);
    const logs = cluster.logs('coordinator');
    const refused = logs
      .split('\n')
      .filter((l) => l.includes('"reason"') && l.includes('refused'))
      .map((l) => JSON.parse(l) as { principal: string | null; method: string; reason: string });
    expect(refused).toContainEqual(
      expect.objectContaining({ principal: 'tenant-a', method: 'Load', reason: 'owner_not_allowed' }),
    );
    expect(refused).toContainEqual(expect.objectContaining({ principal: null, reason: 'bad_token' }));
    for (const t of [adminToken, ...Object.values(tokens), 'vswap_not-a-token']) expect(logs).not.toContain(t);
  });

  it('re-reads the principals file when it changes and on SIGHUP; a bad file keeps the principals it had', async () => {
    const before = fs.readFileSync(creds.principals, 'utf8');
    // A new principal, picked up from the file change.
    const added = addPrincipals(creds.principals, [{ name: 'late', role: 'client', owners: ['late/*'] }]);
    const late = as(added.late!);
    const ok = await until(
      () =>
        late.swapOut('late/1', [page(1)]).then(
          () => true,
          () => false,
        ),
      (v) => v,
      15_000,
    );
    expect(ok).toBe(true);
    // A broken file: logged, and everyone keeps working (the new principal too).
    writeAtomically(creds.principals, 'principals: [ {name: broken, role: superuser');
    const logged = await until(
      async () => cluster.logs('coordinator').includes('principals file not reloaded'),
      (v) => v,
      15_000,
    );
    expect(logged).toBe(true);
    await late.swapOut('late/1', [page(2)]);
    await as(tokens['tenant-a']!).stats();
    // Back to the file without "late", and SIGHUP: its token no longer opens anything.
    writeAtomically(creds.principals, before);
    cluster.coordinator.service!.child.kill('SIGHUP');
    const gone = await until(
      () =>
        late.stats().then(
          () => 'ok',
          (e: unknown) => (e as { codeName: string }).codeName,
        ),
      (v) => v === 'UNAUTHENTICATED',
      15_000,
    );
    expect(gone).toBe('UNAUTHENTICATED');
    // The log line is written asynchronously: it may land a little after the reload took effect.
    const reloaded = await until(
      async () => cluster.logs('coordinator'),
      (logs) => /"reason":"SIGHUP"[^\n]*principals file reloaded/.test(logs),
      10_000,
    );
    expect(reloaded).toMatch(/"reason":"SIGHUP"[^\n]*principals file reloaded/);
  });

  it('caps the owners in the whole cluster (max_owners_total)', async () => {
    const admin = as(adminToken);
    const n = (await admin.stats()).owners.length;
    const text = fs.readFileSync(creds.principals, 'utf8');
    writeAtomically(creds.principals, `${text}\nlimits: { max_owners_total: ${n} }\n`);
    const a = as(tokens['tenant-a']!);
    const refused = await until(
      () =>
        a.swapOut(`tenant-a/new-${Date.now()}`, [page(1)]).then(
          () => 'ok',
          (e: unknown) => (e as Error).message,
        ),
      (m) => m !== 'ok',
      15_000,
    );
    expect(refused).toMatch(/limit of \d+ owners/);
    // An owner already holding slots may still grow.
    await a.swapOut('tenant-a/stats', [page(1)]);
    writeAtomically(creds.principals, text);
  });
});
