/**
 * Encryption at rest for the Redis tier (swapfile and zswap Redis stores):
 * AES-256-GCM from Node's crypto, a fresh random 96-bit nonce per write, and
 * as additional authenticated data the store's name, the page's handle and the
 * epoch the page was written in. A value that was changed, moved to another
 * handle or store, or sealed under a key this service does not have, does not
 * open: the stores report it as DATA_LOSS, never as other bytes.
 *
 * A sealed value (OVERHEAD = 46 bytes more than the plaintext):
 *
 *   0      version (1)
 *   1      key id (0..255): which key of the ring sealed it
 *   2..17  the epoch the value was written in (16 bytes)
 *   18..29 nonce (12 random bytes)
 *   30..   ciphertext (as long as the plaintext), then the 16-byte GCM tag
 *
 * The AAD is bytes 0..17 (so version, key id and epoch are authenticated),
 * the handle (8 bytes, big-endian) and the store's name. The epoch travels
 * with the value because a page that survives a Redis rollback stays valid in
 * the store's next epoch (see redis-epoch.ts); a value can still only open
 * under the handle and store it was written for.
 *
 * Key ring: the first key seals, every key opens what it sealed (rotation:
 * put the new key first and keep the old ones until no page they sealed is
 * left). Text format, one key a line (or comma-separated in a variable):
 * `<id>:<key>`, id 0..255, key 32 bytes as 64 hex digits or base64; `#`
 * comments and blank lines are ignored.
 */
import * as crypto from 'node:crypto';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const EPOCH_BYTES = 16;
export const FORMAT_VERSION = 1;
/** Bytes before the ciphertext: version, key id, epoch, nonce. */
export const HEADER_BYTES = 2 + EPOCH_BYTES + NONCE_BYTES;
/** How much longer a sealed value is than its plaintext. */
export const OVERHEAD = HEADER_BYTES + TAG_BYTES;

const AAD_FIXED = 2 + EPOCH_BYTES + 8;
/** Nonces drawn from the system RNG at once (one syscall for a 512-page batch). */
const NONCE_POOL = 512;

export interface PageKey {
  /** 0..255, stored with every value it seals. */
  readonly id: number;
  /** 32 bytes. */
  readonly key: Buffer;
}

/** The keys a store may open values with; keys[0] seals. */
export class KeyRing {
  /** Keys as KeyObjects: createCipheriv with one is measurably cheaper than with raw bytes. */
  private readonly byId: (crypto.KeyObject | undefined)[] = new Array<crypto.KeyObject | undefined>(256);

  constructor(readonly keys: readonly PageKey[]) {
    if (keys.length === 0) throw new Error('the key ring is empty');
    for (const k of keys) {
      if (!Number.isInteger(k.id) || k.id < 0 || k.id > 255) throw new Error(`key id ${k.id} is not 0..255`);
      if (k.key.length !== KEY_BYTES) throw new Error(`key ${k.id} is ${k.key.length} bytes, not ${KEY_BYTES}`);
      if (this.byId[k.id]) throw new Error(`key id ${k.id} appears twice`);
      this.byId[k.id] = crypto.createSecretKey(k.key);
    }
  }

  /** The key that seals new values. */
  get current(): PageKey {
    return this.keys[0]!;
  }

  key(id: number): crypto.KeyObject | undefined {
    return this.byId[id];
  }

  /** Key ids, sealing key first, for logs (never the keys). */
  get ids(): number[] {
    return this.keys.map((k) => k.id);
  }
}

/**
 * Parses a key ring from a key file's text or a variable's value (entries on
 * lines or separated by commas). Throws an Error saying which entry is wrong.
 */
export function parseKeyRing(text: string): KeyRing {
  const keys: PageKey[] = [];
  const entries = text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  if (entries.length === 0) throw new Error('no key in it (expected lines of <id>:<64 hex digits or base64 key>)');
  entries.forEach((entry, i) => {
    const m = /^(\d{1,3})\s*:\s*(\S+)$/.exec(entry);
    if (!m) throw new Error(`entry ${i + 1} is not <id>:<key> (id 0..255, key 32 bytes as 64 hex digits or base64)`);
    const id = Number(m[1]);
    if (id > 255) throw new Error(`entry ${i + 1}: key id ${id} is not 0..255`);
    const raw = m[2]!;
    // Hex digits of even length are hex (a 32-byte key in base64 is 43 or 44 characters, never that).
    const key = /^(?:[0-9a-fA-F]{2})+$/.test(raw) ? Buffer.from(raw, 'hex') : decode64(raw);
    if (key === undefined || key.length !== KEY_BYTES)
      throw new Error(
        `entry ${i + 1} (key id ${id}): the key is ` +
          `${key === undefined ? 'neither hex nor base64' : `${key.length} bytes`}, ` +
          `an AES-256 key is ${KEY_BYTES} bytes (64 hex digits or 44 base64 ` +
          'characters)',
      );
    if (keys.some((k) => k.id === id)) throw new Error(`entry ${i + 1}: key id ${id} appears twice`);
    keys.push({ id, key });
  });
  return new KeyRing(keys);
}

/** A new key ring text with one random key: what a credentials generator writes. */
export function generateKeyRingText(id = 1): string {
  return `${id}:${crypto.randomBytes(KEY_BYTES).toString('base64')}\n`;
}

function decode64(raw: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) return undefined;
  return Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64');
}

/** Why a value did not open. */
export type OpenFailure =
  | { reason: 'format'; length: number }
  | { reason: 'unknown-key'; keyId: number }
  | { reason: 'authentication'; keyId: number };

/** What a failed open means, for a DATA_LOSS message. */
export function describeOpenFailure(f: OpenFailure): string {
  switch (f.reason) {
    case 'format':
      return `its ${f.length}-byte value is not a sealed page (stored without encryption, or truncated)`;
    case 'unknown-key':
      return `it was sealed under key id ${f.keyId}, which is not in this service's key ring`;
    case 'authentication':
      return (
        `it fails authentication under key id ${f.keyId} (changed, moved from ` +
        'another handle or store, or a wrong key)'
      );
  }
}

/**
 * Seals and opens the values of one store. Not safe to share between
 * concurrent callers of one call (it reuses an AAD and a nonce buffer), which
 * Node's single thread makes a non-issue.
 */
export class PageCipher {
  private readonly aad: Buffer;
  private readonly nonces = Buffer.allocUnsafeSlow(NONCE_POOL * NONCE_BYTES);
  private noncesUsed = NONCE_POOL;
  private epochText = '';
  private readonly epochRaw = Buffer.alloc(EPOCH_BYTES);

  /** @param storeName names the store in the AAD, e.g. "swapfile:vswap:swapfile:" */
  constructor(
    readonly ring: KeyRing,
    storeName: string,
  ) {
    const name = Buffer.from(storeName, 'utf8');
    this.aad = Buffer.alloc(AAD_FIXED + name.length);
    name.copy(this.aad, AAD_FIXED);
  }

  /**
   * Seals `plain` for `handle`, written in `epoch`, into out[offset..offset +
   * plain.length + OVERHEAD); returns that length.
   */
  seal(plain: Uint8Array, handle: number, epoch: string, out: Buffer, offset: number): number {
    const id = this.ring.current.id;
    const key = this.ring.key(id)!;
    out[offset] = FORMAT_VERSION;
    out[offset + 1] = id;
    this.epochBytes(epoch).copy(out, offset + 2);
    if (this.noncesUsed === NONCE_POOL) {
      crypto.randomFillSync(this.nonces);
      this.noncesUsed = 0;
    }
    const n = this.noncesUsed++ * NONCE_BYTES;
    this.nonces.copy(out, offset + 2 + EPOCH_BYTES, n, n + NONCE_BYTES);
    const nonce = out.subarray(offset + 2 + EPOCH_BYTES, offset + HEADER_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.fillAad(out, offset, handle));
    let at = offset + HEADER_BYTES;
    at += cipher.update(plain).copy(out, at);
    at += cipher.final().copy(out, at);
    at += cipher.getAuthTag().copy(out, at);
    return at - offset;
  }

  /**
   * Opens a value sealed for `handle` into out[offset..); the plaintext's
   * length, or why it did not open (nothing usable is written then).
   */
  open(value: Uint8Array, handle: number, out: Buffer, offset: number): number | OpenFailure {
    if (value.length < OVERHEAD || value[0] !== FORMAT_VERSION) return { reason: 'format', length: value.length };
    const keyId = value[1]!;
    const key = this.ring.key(keyId);
    if (!key) return { reason: 'unknown-key', keyId };
    const end = value.length - TAG_BYTES;
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, value.subarray(2 + EPOCH_BYTES, HEADER_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(this.fillAad(value, 0, handle));
    decipher.setAuthTag(value.subarray(end));
    const plain = decipher.update(value.subarray(HEADER_BYTES, end));
    try {
      decipher.final();
    } catch {
      return { reason: 'authentication', keyId };
    }
    plain.copy(out, offset);
    return plain.length;
  }

  /** AAD of a value whose header starts at header[offset]. */
  private fillAad(header: Uint8Array, offset: number, handle: number): Buffer {
    const aad = this.aad;
    aad.set(header.subarray(offset, offset + 2 + EPOCH_BYTES), 0);
    aad.writeUInt32BE(Math.floor(handle / 2 ** 32), 2 + EPOCH_BYTES);
    aad.writeUInt32BE(handle >>> 0, 2 + EPOCH_BYTES + 4);
    return aad;
  }

  /** The 16 bytes an epoch is stored as: its hex id, or a digest of anything else. */
  private epochBytes(epoch: string): Buffer {
    if (epoch !== this.epochText) {
      const raw = /^[0-9a-f]{32}$/.test(epoch)
        ? Buffer.from(epoch, 'hex')
        : crypto.createHash('sha256').update(epoch).digest();
      raw.copy(this.epochRaw, 0, 0, EPOCH_BYTES);
      this.epochText = epoch;
    }
    return this.epochRaw;
  }
}
