/**
 * Backend.Link against real backend processes: Put, Get and Delete on one
 * stream answer exactly as the unary calls do (pages, handles, statuses and
 * messages), every wait is bounded, a lost link fails its requests at once
 * and the next request opens a new one, a backend shutting down ends its
 * links instead of waiting out the grace period, and a backend without Link
 * is served unary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendClient } from '../../../services/common/backend-client';
import { LINK_MAX_IN_FLIGHT } from '../../../services/common/link-server';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../../services/common/proto';
import { parseReadyLine } from '../../../services/common/ready';
import type { LinkResponse__Output } from '../../../proto/generated/vswap/v1/LinkResponse';
import { freePort } from '../../support/ports';
import { startService, type StartedService } from '../../support/service';
import { expectStatus, memoryLikePages, ZSWAP_ENTRY } from '../zswap/helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function zswap(listen = '127.0.0.1:0'): Promise<StartedService> {
  const service = await startService({ entry: ZSWAP_ENTRY, args: ['--listen', listen] });
  cleanups.push(() => service.kill('SIGKILL'));
  return service;
}

function client(address: string, options: ConstructorParameters<typeof BackendClient>[1] = {}): BackendClient {
  const c = new BackendClient(address, options);
  cleanups.push(() => c.close());
  return c;
}

describe('Backend.Link', () => {
  it('answers Put, Get and Delete as the unary calls do, good input and bad', async () => {
    const backend = await zswap();
    const link = client(backend.address);
    const unary = client(backend.address, { link: false });
    const pages = memoryLikePages(40);
    const viaLink = await link.put(pages.slice(0, 20), { tags: pages.slice(0, 20).map((_, i) => i + 1) });
    const viaUnary = await unary.put(pages.slice(20));
    expect(viaLink.outcomes).toEqual(new Array(20).fill('PUT_STORED'));
    expect(viaUnary.outcomes).toEqual(new Array(20).fill('PUT_STORED'));
    // Each reads back what the other stored, page for page.
    const handles = [...viaLink.handles, ...viaUnary.handles];
    const byLink = await link.get(handles, false);
    const byUnary = await unary.get(handles, false);
    expect(byLink.pages.map((p) => Buffer.from(p))).toEqual(pages);
    expect(byUnary.pages.map((p) => Buffer.from(p))).toEqual(pages);

    // Bad input: the same status and message both ways, and nothing changes.
    const unknown = handles[0]! + 1_000_000;
    const a = await expectStatus(link.get([unknown]), grpc.status.NOT_FOUND);
    const b = await expectStatus(unary.get([unknown]), grpc.status.NOT_FOUND);
    expect(a.details).toBe(b.details);
    const short = [Buffer.alloc(100)];
    const c = await expectStatus(link.put(short), grpc.status.INVALID_ARGUMENT);
    const d = await expectStatus(unary.put(short), grpc.status.INVALID_ARGUMENT);
    expect(c.details).toBe(d.details);
    const e = await expectStatus(link.delete([unknown], 'DELETE_FREED'), grpc.status.NOT_FOUND);
    expect(e.details).toBe(
      (await expectStatus(unary.delete([unknown], 'DELETE_FREED'), grpc.status.NOT_FOUND)).details,
    );
    expect((await link.info()).usedPages).toBe(40);

    await link.delete(viaUnary.handles, 'DELETE_FREED');
    await unary.delete(viaLink.handles, 'DELETE_FREED');
    expect((await link.info()).usedPages).toBe(0);
    await expectStatus(link.get([handles[0]!]), grpc.status.NOT_FOUND);
  });

  it('runs many requests at once, past the in-flight bound, each answered with its own pages', async () => {
    const backend = await zswap();
    const link = client(backend.address);
    const pages = memoryLikePages(LINK_MAX_IN_FLIGHT * 3, 7);
    const puts = await Promise.all(pages.map((p) => link.put([p])));
    const got = await Promise.all(puts.map((r) => link.get([r.handles[0]!], false)));
    got.forEach((g, i) => expect(Buffer.from(g.pages[0]!).equals(pages[i]!), `page ${i}`).toBe(true));
    await Promise.all(puts.map((r) => link.delete(r.handles, 'DELETE_FREED')));
    expect((await link.info()).usedPages).toBe(0);
  });

  it('bounds a wait on a backend that stopped answering, then goes on on the same link', async () => {
    const backend = await zswap();
    const link = client(backend.address, { deadlineMs: 1500 }); // room for a loaded machine after SIGCONT
    const [page] = memoryLikePages(1, 3);
    const { handles } = await link.put([page!]);
    process.kill(backend.child.pid!, 'SIGSTOP');
    try {
      await expectStatus(link.get(handles, false), grpc.status.DEADLINE_EXCEEDED, /1500 ms on the backend link/);
    } finally {
      process.kill(backend.child.pid!, 'SIGCONT');
    }
    // The late answer to the abandoned Get is dropped; this one gets its own.
    const again = await link.get(handles, false);
    expect(Buffer.from(again.pages[0]!).equals(page!)).toBe(true);
  });

  it('refuses requests at once, instead of queueing them, while a stopped backend leaves too many pages unsent', async () => {
    const backend = await zswap();
    const link = client(backend.address, { deadlineMs: 60_000 });
    const batch = new Array<Buffer>(512).fill(memoryLikePages(1)[0]!);
    await link.put(batch.slice(0, 1)); // the link is open
    process.kill(backend.child.pid!, 'SIGSTOP');
    const calls: Promise<unknown>[] = [];
    let refused: grpc.ServiceError | undefined;
    try {
      // 2 MiB each: the flow-control window and the socket take a few, the rest waits here.
      for (let i = 0; i < 64 && !refused; i++) {
        const p = link.put(batch);
        calls.push(p);
        p.catch((e: unknown) => (refused ??= e as grpc.ServiceError));
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      process.kill(backend.child.pid!, 'SIGCONT');
    }
    expect(refused?.code, 'a request should have been refused while the backend was stopped').toBe(
      grpc.status.UNAVAILABLE,
    );
    expect(refused!.details).toMatch(/not reading its link/);
    // What was queued before the bound is answered once the backend reads again.
    const results = await Promise.allSettled(calls);
    const stored = results.filter((r) => r.status === 'fulfilled').length;
    expect(stored).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect((await link.info()).usedPages).toBe(1 + stored * 512);
  });

  it('fails what a lost link left unanswered at once, and opens a new link for the next request', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const first = await zswap(address);
    const link = client(address, { deadlineMs: 60_000 });
    await link.put(memoryLikePages(1));
    process.kill(first.child.pid!, 'SIGSTOP');
    const pending = link.get([1], false);
    // Let the request reach the socket before the backend dies.
    await new Promise((r) => setTimeout(r, 100));
    process.kill(first.child.pid!, 'SIGKILL');
    // Long before its 60 s deadline.
    await expectStatus(pending, grpc.status.UNAVAILABLE, /backend link/);
    const second = await zswap(address);
    expect(second.address).toBe(address);
    const [page] = memoryLikePages(1, 11);
    const { handles } = await link.put([page!]);
    const got = await link.get(handles, false);
    expect(Buffer.from(got.pages[0]!).equals(page!)).toBe(true);
  });

  it('ends its links when the backend stops, instead of waiting out the grace period', async () => {
    const backend = await zswap();
    const link = client(backend.address);
    await link.put(memoryLikePages(2)); // the link is open (and idle) now
    await backend.kill('SIGTERM');
    expect(await backend.exited).toBe(0);
    expect(backend.stderr()).not.toMatch(/grace period over/);
    await expectStatus(link.put(memoryLikePages(1)), grpc.status.UNAVAILABLE);
  });

  it('answers a request that names no call with INVALID_ARGUMENT, and keeps the link', async () => {
    const backend = await zswap();
    const proto = loadVswapProto();
    const raw = new proto.vswap.v1.Backend(backend.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    cleanups.push(() => raw.close());
    const stream = raw.link();
    const answers: LinkResponse__Output[] = [];
    const twoAnswers = new Promise<void>((resolve) =>
      stream.on('data', (m: LinkResponse__Output) => {
        answers.push(m);
        if (answers.length === 2) resolve();
      }),
    );
    stream.write({ id: 7 });
    stream.write({ id: 8, put: { pages: memoryLikePages(1) } });
    await twoAnswers;
    // Half-closed with nothing unanswered, the backend ends the link with OK.
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.end();
    expect((await status).code).toBe(grpc.status.OK);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(7)!.result).toBe('error');
    expect(byId.get(7)!.error!.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(byId.get(7)!.error!.message).toMatch(/names no call: set one of put, get or delete/);
    expect(byId.get(8)!.result).toBe('put');
    expect(byId.get(8)!.put!.outcomes).toEqual(['PUT_STORED']);
  });

  it('counts each call a link carries in the gRPC metrics, under its method, as grpc_type link', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-link-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const ready = path.join(dir, 'ready');
    const backend = await startService({
      entry: ZSWAP_ENTRY,
      args: ['--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'],
      env: { VSWAP_READY_FILE: ready },
    });
    cleanups.push(() => backend.kill('SIGKILL'));
    const link = client(backend.address);
    const { handles } = await link.put(memoryLikePages(4));
    await link.get(handles, false);
    await link.get(handles, false);
    await expectStatus(link.get([handles[0]! + 999_999]), grpc.status.NOT_FOUND);
    const metrics = parseReadyLine(fs.readFileSync(ready, 'utf8').trim())!.metrics!;
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    const series = (name: string, method: string, code?: string): string =>
      `${name}{grpc_service="vswap.v1.Backend",grpc_method="${method}",grpc_type="link"${code ? `,grpc_code="${code}"` : ''}}`;
    expect(text).toContain(`${series('grpc_server_handled_total', 'Put', 'OK')} 1\n`);
    expect(text).toContain(`${series('grpc_server_handled_total', 'Get', 'OK')} 2\n`);
    expect(text).toContain(`${series('grpc_server_handled_total', 'Get', 'NOT_FOUND')} 1\n`);
    expect(text).toContain(`${series('grpc_server_started_total', 'Get')} 3\n`);
    expect(text).toContain(`${series('grpc_server_handling_seconds_count', 'Get')} 3\n`);
    // The stream itself is one call, still open.
    expect(text).toMatch(
      /grpc_server_started_total\{grpc_service="vswap.v1.Backend",grpc_method="Link",grpc_type="bidi_stream"\} 1\n/,
    );
  });

  it('serves a backend without Link with unary calls', async () => {
    // The benchmark's echo server implements Put, Get and Delete but not Link.
    const echo = await startService({ entry: 'clients/bench/echo-server.js' });
    cleanups.push(() => echo.kill('SIGKILL'));
    const link = client(echo.address);
    const put = await link.put(memoryLikePages(3));
    expect(put.handles).toHaveLength(3);
    const got = await link.get(put.handles, false);
    expect(got.pages).toHaveLength(3);
    expect(Buffer.from(got.pages[0]!)[0]).toBe(0xa5);
    // And from then on, without trying the link again.
    await link.delete(put.handles, 'DELETE_FREED');
  });
});
