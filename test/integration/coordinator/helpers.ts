import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, expect } from 'vitest';
import { LocalCluster, type LocalClusterOptions } from '../../../clients/cluster/local-cluster';
import type { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';

export async function expectCode(p: Promise<unknown>, code: grpc.status, message?: RegExp): Promise<VswapClientError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${grpc.status[code]}`).toBeInstanceOf(VswapClientError);
  expect((err as VswapClientError).codeName).toBe(grpc.status[code]);
  if (message) expect((err as VswapClientError).message).toMatch(message);
  return err as VswapClientError;
}

/** Polls fn until ok(value) or the timeout; returns the last value (assert on it). */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function counter(list: { name: string; value: number }[], name: string): number {
  return list.find((c) => c.name === name)?.value ?? 0;
}

export interface ClusterFixture {
  /** Starts a cluster in a fresh temporary directory; it is stopped and removed after the test. */
  start(options: Omit<LocalClusterOptions, 'dataDir'>, deadlineMs?: number): Promise<VswapClient>;
  /** The running cluster (throws before start). */
  readonly cluster: LocalCluster;
  /** Its data directory (throws before start). */
  readonly dir: string;
}

/** One cluster per test, torn down in afterEach (paused nodes resumed first). */
export function clusterPerTest(): ClusterFixture {
  let dir: string | undefined;
  let cluster: LocalCluster | undefined;
  let client: VswapClient | undefined;
  afterEach(async () => {
    if (cluster) for (const n of cluster.nodes.keys()) cluster.resume(n);
    client?.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = cluster = client = undefined;
  });
  return {
    async start(options, deadlineMs = 10_000) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-coordinator-'));
      cluster = await LocalCluster.start({ dataDir: dir, ...options });
      client = cluster.client(deadlineMs);
      return client;
    },
    get cluster() {
      if (!cluster) throw new Error('no cluster started in this test');
      return cluster;
    },
    get dir() {
      if (!dir) throw new Error('no cluster started in this test');
      return dir;
    },
  };
}
