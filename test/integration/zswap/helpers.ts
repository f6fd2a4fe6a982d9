import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { compressSync } from 'lz4-napi';
import type { ServiceError } from '@grpc/grpc-js';
import { BackendClient } from '../../../services/common/backend-client';
import { startService, type StartedService } from '../../support/service';

export const PAGE = 4096;
export const ZSWAP_ENTRY = 'services/zswap/main.js';

export interface RunningZswap {
  service: StartedService;
  client: BackendClient;
  stop(): Promise<void>;
}

export async function startZswap(args: string[] = [], env: Record<string, string> = {}): Promise<RunningZswap> {
  const service = await startService({ entry: ZSWAP_ENTRY, args: ['--listen', '127.0.0.1:0', ...args], env });
  const client = new BackendClient(service.address);
  return {
    service,
    client,
    async stop() {
      client.close();
      await service.kill();
    },
  };
}

let binary: Buffer | undefined;

/**
 * Memory-like pages that compress (under 2 KiB with lz4, so every compressor
 * stores them at the default bound): text, mostly-zero, chunks of the node
 * binary. Incompressible pages are made explicitly with randomBytes.
 */
export function memoryLikePages(n: number, seed = 0): Buffer[] {
  binary ??= fs.readFileSync(process.execPath);
  const bin = binary;
  const pages: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i + seed) % 3;
    if (k === 0) {
      pages.push(
        Buffer.from(`slot ${i + seed}: the quick brown fox jumps over the lazy dog\n`.repeat(80)).subarray(0, PAGE),
      );
    } else if (k === 1) {
      const p = Buffer.alloc(PAGE);
      p.writeUInt32LE(i + seed, (i * 64) % PAGE);
      p[PAGE - 1] = 0x5a;
      pages.push(p);
    } else {
      let off = (((i + seed) * 7919 * PAGE) % (bin.length - 2 * PAGE)) & ~0xfff;
      while (compressSync(bin.subarray(off, off + PAGE)).length > 2048)
        off = (off + 31 * PAGE) % (bin.length - 2 * PAGE);
      pages.push(Buffer.from(bin.subarray(off, off + PAGE)));
    }
  }
  return pages;
}

/** A page that compresses to roughly `randomBytes` bytes. */
export function pageCompressingTo(randomLen: number): Buffer {
  return Buffer.concat([randomBytes(randomLen), Buffer.alloc(PAGE - randomLen)]);
}

export async function expectStatus(p: Promise<unknown>, code: number, message?: RegExp): Promise<ServiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as ServiceError,
  );
  expect(err, 'the call should have failed').toBeDefined();
  expect(err!.code).toBe(code);
  if (message) expect(err!.details).toMatch(message);
  return err!;
}

export async function counters(client: BackendClient): Promise<Record<string, number>> {
  const s = await client.stats();
  return Object.fromEntries(s.counters.map((c) => [c.name, c.value]));
}

/** What a user can observe of the store: for "nothing changed" checks. */
export async function snapshot(client: BackendClient): Promise<unknown> {
  const info = await client.info();
  const c = await counters(client);
  return {
    used: info.usedPages,
    bytes: info.storedBytes,
    over: info.overThreshold,
    stored: c.stored_pages,
    out: c.zswpout,
    wb: c.written_back_pages,
  };
}
