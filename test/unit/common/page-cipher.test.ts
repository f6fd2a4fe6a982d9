/**
 * The page cipher of the Redis stores (issue 11): a sealed value opens only
 * under its handle, store and key; anything else is a reported failure, never
 * other bytes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KeyRing,
  OVERHEAD,
  PageCipher,
  describeOpenFailure,
  generateKeyRingText,
  parseKeyRing,
} from '../../../services/common/page-cipher';
import { ConfigError, keyRingFile, resolveRedisEncryption } from '../../../services/common/config';
import { loadSwapfileConfig } from '../../../services/swapfile/config';
import { loadZswapConfig } from '../../../services/zswap/config';

const EPOCH = 'a3f1c2d4e5b60718293a4b5c6d7e8f90';
const key = (id: number) => ({ id, key: crypto.randomBytes(32) });

function seal(c: PageCipher, plain: Buffer, handle: number, epoch = EPOCH): Buffer {
  const out = Buffer.alloc(plain.length + OVERHEAD);
  expect(c.seal(plain, handle, epoch, out, 0)).toBe(out.length);
  return out;
}

function open(c: PageCipher, value: Buffer, handle: number): Buffer | string {
  const out = Buffer.alloc(value.length);
  const r = c.open(value, handle, out, 0);
  return typeof r === 'number' ? out.subarray(0, r) : r.reason;
}

describe('PageCipher', () => {
  const page = Buffer.alloc(4096, 'PLAINTEXT-PAGE-42 ');

  it('round-trips a page and a short object; the value holds none of the plaintext and differs every write', () => {
    const c = new PageCipher(new KeyRing([key(1)]), 'swapfile:p:');
    const a = seal(c, page, 7);
    const b = seal(c, page, 7);
    expect(a.includes('PLAINTEXT-PAGE')).toBe(false);
    expect(a.subarray(18, 30).equals(b.subarray(18, 30))).toBe(false); // fresh nonce
    expect(a.equals(b)).toBe(false);
    expect(open(c, a, 7)).toEqual(page);
    const small = Buffer.from('compressed object');
    expect(open(c, seal(c, small, 2 ** 40 + 3), 2 ** 40 + 3)).toEqual(small);
  });

  it('refuses a flipped byte anywhere, another handle, another store, another key and a truncated value', () => {
    const ring = new KeyRing([key(1)]);
    const c = new PageCipher(ring, 'swapfile:p:');
    const v = seal(c, page, 7);
    for (const at of [1, 2, 17, 18, 29, 30, 2000, v.length - 1]) {
      const t = Buffer.from(v);
      t[at]! ^= 0x01;
      expect(open(c, t, 7), `byte ${at}`).not.toBeInstanceOf(Buffer);
    }
    expect(open(c, v, 8)).toBe('authentication');
    expect(open(c, v, 7 + 2 ** 32)).toBe('authentication');
    expect(open(new PageCipher(ring, 'zswap:p:'), v, 7)).toBe('authentication');
    expect(open(new PageCipher(new KeyRing([{ id: 1, key: crypto.randomBytes(32) }]), 'swapfile:p:'), v, 7)).toBe(
      'authentication',
    );
    expect(open(new PageCipher(new KeyRing([key(2)]), 'swapfile:p:'), v, 7)).toBe('unknown-key');
    expect(open(c, v.subarray(0, OVERHEAD - 1), 7)).toBe('format');
    expect(open(c, page, 7)).toBe('format');
    const out = Buffer.alloc(4096, 0xee);
    c.open(Object.assign(Buffer.from(v), { [40]: v[40]! ^ 1 }), 7, out, 0);
    expect(out.every((b) => b === 0xee)).toBe(true); // nothing written on failure
  });

  it('a value keeps the epoch it was written in: it opens in a later epoch under its own handle', () => {
    const c = new PageCipher(new KeyRing([key(1)]), 's');
    const v = seal(c, page, 7, EPOCH);
    seal(c, page, 9, 'ffffffffffffffffffffffffffffffff');
    expect(open(c, v, 7)).toEqual(page);
    expect(v.subarray(2, 18).toString('hex')).toBe(EPOCH);
  });

  it('rotation: the first key seals, older keys still open what they sealed', () => {
    const k1 = key(1);
    const k2 = key(2);
    const old = new PageCipher(new KeyRing([k1]), 's');
    const v1 = seal(old, page, 1);
    const rotated = new PageCipher(new KeyRing([k2, k1]), 's');
    const v2 = seal(rotated, page, 2);
    expect(v2[1]).toBe(2);
    expect(open(rotated, v1, 1)).toEqual(page);
    expect(open(rotated, v2, 2)).toEqual(page);
    const dropped = new PageCipher(new KeyRing([k2]), 's');
    expect(open(dropped, v1, 1)).toBe('unknown-key');
    expect(open(dropped, v2, 2)).toEqual(page);
  });

  it('describes each failure for the DATA_LOSS message', () => {
    expect(describeOpenFailure({ reason: 'unknown-key', keyId: 3 })).toMatch(
      /key id 3.*not in this service's key ring/,
    );
    expect(describeOpenFailure({ reason: 'authentication', keyId: 1 })).toMatch(/fails authentication/);
    expect(describeOpenFailure({ reason: 'format', length: 4096 })).toMatch(/4096-byte value is not a sealed page/);
  });
});

describe('key ring text', () => {
  const hex = crypto.randomBytes(32).toString('hex');
  const b64 = crypto.randomBytes(32).toString('base64');

  it('parses lines or commas, hex or base64, with comments; the first key seals', () => {
    const ring = parseKeyRing(`# newest first\n2:${b64}\n\n1: ${hex}  # old\n`);
    expect(ring.ids).toEqual([2, 1]);
    expect(ring.current.key.equals(Buffer.from(b64, 'base64'))).toBe(true);
    expect(ring.key(1)!.export().toString('hex')).toBe(hex);
    expect(parseKeyRing(`5:${hex},6:${b64}`).ids).toEqual([5, 6]);
    expect(parseKeyRing(generateKeyRingText(9)).ids).toEqual([9]);
  });

  it('says what is wrong with a bad entry', () => {
    expect(() => parseKeyRing('')).toThrow(/no key/);
    expect(() => parseKeyRing(hex)).toThrow(/entry 1 is not <id>:<key>/);
    expect(() => parseKeyRing(`1:${hex.slice(2)}`)).toThrow(/31 bytes.*32 bytes/);
    expect(() => parseKeyRing(`1:${crypto.randomBytes(16).toString('base64')}`)).toThrow(/16 bytes/);
    expect(() => parseKeyRing(`1:not*a*key`)).toThrow(/neither hex nor base64/);
    expect(() => parseKeyRing(`256:${hex}`)).toThrow(/key id 256/);
    expect(() => parseKeyRing(`1:${hex}\n1:${b64}`)).toThrow(/entry 2: key id 1 appears twice/);
  });
});

describe('encryption options', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-keys-'));
  const good = path.join(dir, 'good.key');
  fs.writeFileSync(good, generateKeyRingText(1));

  it('a key file that cannot be read or holds a wrong-length key stops the start, naming the option', () => {
    expect(() => keyRingFile('k').parse(path.join(dir, 'missing'))).toThrow(/cannot read .*missing: ENOENT/);
    const short = path.join(dir, 'short.key');
    fs.writeFileSync(short, `1:${crypto.randomBytes(31).toString('hex')}\n`);
    const base = ['--store', 'redis', '--redis-url', 'redis://10.1.2.3:6379'];
    expect(() => loadSwapfileConfig({ argv: [...base, '--encryption-key-file', short], env: {} })).toThrow(
      /^--encryption-key-file \(VSWAP_SWAPFILE_ENCRYPTION_KEY_FILE\): .*short\.key: entry 1 .*31 bytes/,
    );
    expect(() =>
      loadZswapConfig({ argv: [...base, '--encryption-key-file', path.join(dir, 'nope')], env: {} }),
    ).toThrow(/^--encryption-key-file \(VSWAP_ZSWAP_ENCRYPTION_KEY_FILE\): cannot read .*nope: ENOENT/);
    const cfg = loadSwapfileConfig({ argv: [...base, '--encryption-key-file', good], env: {} });
    expect(cfg.redisKeyRing?.ids).toEqual([1]);
    const viaEnv = loadZswapConfig({ argv: base, env: { VSWAP_ZSWAP_ENCRYPTION_KEYS: generateKeyRingText(4).trim() } });
    expect(viaEnv.redisKeyRing?.ids).toEqual([4]);
  });

  it('no key: plaintext on loopback with a warning; refused for a remote Redis unless allowed; both key options refused', () => {
    const none = { encryptionKeyFile: undefined, encryptionKeys: undefined, allowPlaintextRedis: false };
    const local = resolveRedisEncryption(none, 'VSWAP_SWAPFILE', 'redis://127.0.0.1:6379');
    expect(local).toMatchObject({ keyRing: undefined, warning: expect.stringMatching(/unencrypted.*loopback/) });
    expect(resolveRedisEncryption(none, 'X', 'redis://localhost:1').keyRing).toBeUndefined();
    expect(resolveRedisEncryption(none, 'X', 'redis://[::1]:1').keyRing).toBeUndefined();
    expect(() => resolveRedisEncryption(none, 'VSWAP_SWAPFILE', 'redis://user:secret@redis:6379')).toThrow(ConfigError);
    expect(() =>
      loadSwapfileConfig({ argv: ['--store', 'redis', '--redis-url', 'redis://redis:6379'], env: {} }),
    ).toThrow(/--encryption-key-file .*no key .*redis:\/\/redis:6379.*--allow-plaintext-redis/);
    expect(() => resolveRedisEncryption(none, 'X', 'redis://u:secret@redis:6379')).not.toThrow(/secret/);
    const allowed = loadZswapConfig({
      argv: ['--store', 'redis', '--redis-url', 'redis://redis:6379', '--allow-plaintext-redis', 'true'],
      env: {},
    });
    expect(allowed.redisKeyRing).toBeUndefined();
    expect(allowed.plaintextWarning).toMatch(/allow-plaintext-redis/);
    const ring = parseKeyRing(generateKeyRingText());
    expect(() =>
      resolveRedisEncryption(
        { encryptionKeyFile: ring, encryptionKeys: ring, allowPlaintextRedis: false },
        'X',
        'redis://h:1',
      ),
    ).toThrow(/not both/);
    // The file store needs no key.
    expect(loadSwapfileConfig({ argv: [], env: {} }).redisKeyRing).toBeUndefined();
  });
});
