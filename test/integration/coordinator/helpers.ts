import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
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
