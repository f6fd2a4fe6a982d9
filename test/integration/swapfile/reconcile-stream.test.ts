/**
 * Reconcile deletes only on a complete handle list: the last chunk says so
 * (`last`) and the client half-closes. A stream that is cancelled half-way,
 * or ends without `last`, deletes nothing (last session's bug: a cancelled
 * stream acted on its partial list and deleted live pages). Both backends run
 * the same server (services/common/reconcile-server.ts).
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../../services/common/proto';
import type { BackendClient as RawBackendClient } from '../../../proto/generated/vswap/v1/Backend';
import type { ReconcileResponse__Output } from '../../../proto/generated/vswap/v1/ReconcileResponse';
import { BackendClient } from '../../../services/common/backend-client';
import { startService, type StartedService } from '../../support/service';
import { randomPages, tempDir } from './helpers';
import { memoryLikePages } from '../zswap/helpers';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Backend {
  service: StartedService;
  client: BackendClient;
  raw: RawBackendClient;
  pages(n: number): Buffer[];
}

async function startBackend(kind: 'swapfile' | 'zswap'): Promise<Backend> {
  const service =
    kind === 'swapfile'
      ? await startService({
          entry: 'services/swapfile/main.js',
          args: ['--listen', '127.0.0.1:0', '--path', path.join(tempDir(), 'sw'), '--capacity-pages', '2048'],
        })
      : await startService({ entry: 'services/zswap/main.js', args: ['--listen', '127.0.0.1:0'] });
  const client = new BackendClient(service.address);
  const raw = new (loadVswapProto().vswap.v1.Backend)(
    service.address,
    grpc.credentials.createInsecure(),
    CHANNEL_OPTIONS,
  );
  cleanup.push(() => service.kill('SIGKILL'));
  cleanup.push(() => client.close());
  cleanup.push(() => raw.close());
  return { service, client, raw, pages: kind === 'swapfile' ? randomPages : (n) => memoryLikePages(n, 3) };
}

/** Runs a raw Reconcile stream; `last` marks the final chunk, `cancelAfter` cancels after that many replies. */
function rawReconcile(
  raw: RawBackendClient,
  chunks: number[][],
  opts: { last: boolean | number; cancelAfter?: number },
): Promise<{ replies: ReconcileResponse__Output[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const call = raw.reconcile({ deadline: Date.now() + 10_000 });
    const replies: ReconcileResponse__Output[] = [];
    call.on('data', (msg: ReconcileResponse__Output) => {
      replies.push(msg);
      if (opts.cancelAfter !== undefined && replies.length === opts.cancelAfter) call.cancel();
    });
    call.on('error', (error: grpc.ServiceError) => resolve({ replies, error }));
    call.on('end', () => resolve({ replies }));
    const lastAt = opts.last === true ? chunks.length - 1 : opts.last === false ? -1 : opts.last;
    chunks.forEach((handles, i) => call.write({ handles, last: i === lastAt }));
    if (opts.cancelAfter === undefined) call.end();
  });
}

describe.each(['swapfile', 'zswap'] as const)('Reconcile on %s deletes only on a complete list', (kind) => {
  it('a stream cancelled after its first chunk deletes nothing', async () => {
    const b = await startBackend(kind);
    const { handles } = await b.client.put(b.pages(100));
    // The client names the first 10 (a partial list), then goes away.
    const res = await rawReconcile(b.raw, [handles.slice(0, 10)], { last: false, cancelAfter: 1 });
    expect(res.error?.code).toBe(grpc.status.CANCELLED);
    expect(res.replies[0]).toMatchObject({ missing: [], done: false });
    expect((await b.client.info()).usedPages).toBe(100);
    const got = await b.client.get(handles);
    expect(got.pages).toHaveLength(100);
  });

  it('a stream that half-closes without the last marker reports what is missing and deletes nothing', async () => {
    const b = await startBackend(kind);
    const { handles } = await b.client.put(b.pages(50));
    const res = await rawReconcile(b.raw, [handles.slice(0, 5), [987654]], { last: false });
    expect(res.error).toBeUndefined();
    expect(res.replies.map((r) => r.missing)).toEqual([[], [987654], []]);
    expect(res.replies.at(-1)).toMatchObject({ done: true, deleted: 0 });
    expect((await b.client.info()).usedPages).toBe(50);
  });

  it('a complete list (last chunk marked, then half-close) deletes what nobody named and names the epoch', async () => {
    const b = await startBackend(kind);
    const { handles } = await b.client.put(b.pages(50));
    const epoch = (await b.client.info()).epoch;
    const res = await rawReconcile(b.raw, [handles.slice(0, 5), handles.slice(5, 10)], { last: true });
    expect(res.replies.at(-1)).toMatchObject({ done: true, deleted: 40, epoch });
    expect((await b.client.info()).usedPages).toBe(10);
    // A chunk after the one marked last is refused, and nothing is deleted.
    const bad = await rawReconcile(b.raw, [handles.slice(0, 1), handles.slice(1, 10)], { last: 0 });
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.error?.details).toMatch(/after the one marked last/);
    expect((await b.client.info()).usedPages).toBe(10);
  });
});
