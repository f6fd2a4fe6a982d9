import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { BackendClient } from '../../../services/common/backend-client';
import { startService, type StartedService } from '../../support/service';

export const ENTRY = 'services/swapfile/main.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-swapfile-'));
}

/** n pages of random bytes (never all zero). */
export function randomPages(n: number): Buffer[] {
  return Array.from({ length: n }, () => crypto.randomBytes(4096));
}

export interface Running {
  service: StartedService;
  client: BackendClient;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startSwapfile(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const service = await startService({ entry: ENTRY, args: ['--listen', '127.0.0.1:0', ...args], env });
  const client = new BackendClient(service.address, { deadlineMs: 15_000 });
  return {
    service,
    client,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      client.close();
      await service.kill(signal);
    },
  };
}

/** Asserts that a call fails with this gRPC status code (and, if given, a message part). */
export async function expectStatus(call: Promise<unknown>, code: number, message?: string | RegExp): Promise<void> {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; details?: string } | undefined;
  expect(err, 'the call should have failed').toBeDefined();
  expect(err?.code, `status of: ${err?.details}`).toBe(code);
  if (message !== undefined) expect(err?.details).toMatch(message);
}

export function counter(stats: { counters: { name: string; value: number }[] }, name: string): number {
  const c = stats.counters.find((x) => x.name === name);
  if (!c) throw new Error(`no counter ${name}`);
  return c.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries a call until it succeeds (a backend reconnecting to its store); the last error otherwise. */
export async function eventually<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw last;
}
