/**
 * Redis as an attacker with access to it sees it (issue 11): every key
 * `redis-cli --scan` lists, with its value (strings by GET, hashes field by
 * field), as raw bytes.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

/** Every key's bytes (a hash: each field's value), from redis-cli --scan and GET/HGETALL. */
export async function dumpRedis(url: string): Promise<Map<string, Buffer[]>> {
  const { stdout } = await promisify(execFile)('redis-cli', ['-u', url, '--scan'], { maxBuffer: 64 << 20 });
  const keys = stdout.split('\n').filter((k) => k !== '');
  const r = new Redis(url);
  try {
    const out = new Map<string, Buffer[]>();
    for (const key of keys) {
      const type = await r.type(key);
      if (type === 'string') out.set(key, [(await r.getBuffer(key))!]);
      else if (type === 'hash') out.set(key, Object.values(await r.hgetallBuffer(key)));
      else out.set(key, []);
    }
    return out;
  } finally {
    r.disconnect();
  }
}

/** Keys whose value holds `needle` anywhere. */
export function keysHolding(dump: Map<string, Buffer[]>, needle: string): string[] {
  return [...dump].filter(([, values]) => values.some((v) => v.includes(needle))).map(([k]) => k);
}

/** Flips one bit of a string value's byte `at` (negative: from the end). */
export async function flipByte(url: string, key: string, at: number): Promise<void> {
  const r = new Redis(url);
  try {
    const v = (await r.getBuffer(key))!;
    const i = at < 0 ? v.length + at : at;
    v[i]! ^= 0x10;
    await r.set(key, v);
  } finally {
    r.disconnect();
  }
}

/** The text every marked page repeats: no Redis value may hold it once pages are sealed. */
export const PLAINTEXT_MARK = 'VSWAP-PLAINTEXT';

/** Compressible pages whose bytes say what they are: `VSWAP-PLAINTEXT page <tag>-<i> ` over and over. */
export function markedPages(n: number, tag: string): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.alloc(4096, `${PLAINTEXT_MARK} page ${tag}-${i} `));
}

/**
 * Key files in `dir` for rings of key ids, newest first; each id is always the
 * same random key (written as base64 or hex: the key file takes both).
 */
export function keyRingFiles(dir: string, encoding: 'base64' | 'hex'): (...ids: number[]) => string {
  const keys = new Map<number, string>();
  return (...ids) => {
    for (const id of ids) if (!keys.has(id)) keys.set(id, crypto.randomBytes(32).toString(encoding));
    const file = path.join(dir, `ring-${ids.join('-')}.key`);
    fs.writeFileSync(file, ids.map((id) => `${id}:${keys.get(id)!}\n`).join(''), { mode: 0o600 });
    return file;
  };
}
