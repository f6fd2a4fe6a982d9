/**
 * The Redis store: the remote tier. The page of physical slot n is the value
 * of key `<prefix><n+1>` (its first-generation handle); the slot words (used
 * bit and generation, see SwapAllocator) are a string of 16-bit big-endian
 * fields at `<prefix>slots`, written with BITFIELD SET u16 #slot. Loss
 * detection (the epoch and the write counter) is services/common/redis-epoch.ts,
 * shared with zswap.
 *
 * One round trip per batch: a Put is MULTI [INCR seq, MSET pages, BITFIELD
 * slots] EXEC, a Delete MULTI [INCR seq, DEL, BITFIELD] EXEC (pages, words and
 * counter change together and roll back together), a Get a pipeline
 * [GET seq, MGET].
 *
 * When Redis went back in time the store takes a new epoch and the service
 * merges the words Redis has now into its allocation (SwapAllocator
 * .mergeAfterLoss): only pages Redis still holds under the very handle the
 * service gave stay; every other slot moves to a generation no lost page had,
 * and the merged words are written back whole. A page missing under an
 * allocated handle is reported as DATA_LOSS, never replaced by other bytes.
 * (Measured here: Lua scripts doing the same were about twice slower than
 * MSET/MGET, which is why this is not one script.)
 *
 * volatile: true unless the Redis server has appendonly on (CONFIG GET
 * appendonly; a server that refuses CONFIG counts as volatile).
 *
 * With a key ring (--encryption-key-file) every page is sealed with
 * AES-256-GCM before it leaves the process (services/common/page-cipher.ts:
 * its handle, the epoch and "swapfile:<prefix>" authenticated with it), so a
 * value is PAGE_SIZE + OVERHEAD bytes; a value that does not open under the
 * handle read is DATA_LOSS. Without one, values are the pages as they are
 * (allowed on loopback, or with --allow-plaintext-redis), and a sealed value
 * found then is DATA_LOSS too.
 */
import Redis from 'ioredis';
import type { Logger } from '../common/logger';
import { dataLoss, unavailable, VswapError } from '../common/errors';
import { PAGE_SIZE } from '../common/limits';
import { describeOpenFailure, OVERHEAD, PageCipher, type KeyRing } from '../common/page-cipher';
import { ConfigError } from '../common/config';
import { RedisEpoch } from '../common/redis-epoch';
import { decodeWords, encodeWords, type PageStore, type SlotWords, type StoreResult } from './page-store';

export interface RedisStoreOptions {
  url: string;
  /** Prefix of every key; e.g. "vswap:swapfile:". */
  keyPrefix: string;
  /** Slots of the device. */
  capacity: number;
  /** Drop the page keys on Delete; default true. */
  discard?: boolean;
  log: Logger;
  /**
   * Called when the store finds that Redis lost (or rolled back) its data,
   * with the new epoch and the slot words Redis holds now; returns the merged
   * words, which the store writes back whole.
   */
  onEpochChange(epoch: string, words: Uint16Array): Uint16Array;
  /** Connect timeout at start, default 3000 ms. */
  connectTimeoutMs?: number;
  /** Seal every page with this key ring (its first key); undefined: store pages unencrypted. */
  keyRing?: KeyRing;
  /** Logged as a warning at open when there is no key ring. */
  plaintextWarning?: string;
}

const DATA_LOST = { ok: false, error: 'data-lost' } as const;
const OK: StoreResult<void> = { ok: true, value: undefined };

type ExecResult = [error: Error | null, result: unknown][] | null;

export class RedisStore implements PageStore {
  readonly kind = 'redis';
  readonly fsyncs = 0;
  unsealFailures = 0;
  volatile = true;
  restoredWords: Uint16Array = new Uint16Array(0);

  private readonly slotsKey: string;
  private readonly discard: boolean;
  private readonly tracker: RedisEpoch;
  private readonly cipher: PageCipher | undefined;
  private started = false;
  private closed = false;

  private constructor(
    private readonly options: RedisStoreOptions,
    private readonly redis: Redis,
  ) {
    this.slotsKey = `${options.keyPrefix}slots`;
    this.discard = options.discard ?? true;
    this.cipher = options.keyRing && new PageCipher(options.keyRing, `swapfile:${options.keyPrefix}`);
    this.tracker = new RedisEpoch({
      redis,
      keyPrefix: options.keyPrefix,
      dataKeys: [this.slotsKey],
      url: options.url,
      log: options.log,
      onLoss: async (epoch) => {
        const merged = this.options.onEpochChange(epoch, await this.readWords());
        await this.run(() => this.redis.set(this.slotsKey, encodeWords(merged)));
      },
    });
  }

  /** The epoch the handles belong to (see RedisEpoch). */
  get epoch(): string {
    return this.tracker.epoch;
  }

  /** Connects (refusing to start when Redis cannot be reached) and loads the epoch and map. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const { log } = options;
    const redis: Redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 3000,
      // At start, fail at once; later, reconnect quickly and fail a request
      // (UNAVAILABLE) after two attempts rather than hold it for long.
      // (Only called after connect(), once `store` below exists.)
      retryStrategy: (times: number): number | null => (store.started ? Math.min(times * 100, 1000) : null),
      maxRetriesPerRequest: 2,
    });
    const store: RedisStore = new RedisStore(options, redis);
    let lastError = '';
    redis.on('error', (err: Error) => {
      if (err.message === lastError) return;
      lastError = err.message;
      if (store.started) log.warn({ err: err.message, url: options.url }, 'redis connection error');
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      // The 'error' event carries the cause (ECONNREFUSED...); the rejection only says "closed".
      throw new ConfigError(
        `--redis-url (VSWAP_SWAPFILE_REDIS_URL): cannot reach redis at ${options.url}: ${lastError || errMessage(err)}`,
      );
    }
    try {
      await store.readPersistence();
      await store.tracker.open();
      store.restoredWords = await store.readWords();
    } catch (err) {
      redis.disconnect();
      throw new ConfigError(
        `--redis-url (VSWAP_SWAPFILE_REDIS_URL): redis at ${options.url} ` +
          `refused the start-up commands: ${errMessage(err)}`,
      );
    }
    store.started = true;
    lastError = '';
    redis.on('ready', () => {
      // Reconnected: was it a restart that lost the data?
      if (store.closed) return;
      lastError = '';
      log.info({ url: options.url }, 'redis connection ready');
      store.readPersistence().catch(() => {});
      store.check().catch((err: unknown) => log.warn({ err: errMessage(err) }, 'epoch check after reconnect failed'));
    });
    if (!options.keyRing)
      log.warn({ url: options.url }, options.plaintextWarning ?? 'pages are stored in Redis unencrypted');
    log.info(
      {
        url: options.url,
        epoch: store.epoch,
        volatile: store.volatile,
        encryption: options.keyRing ? { cipher: 'aes-256-gcm', keyIds: options.keyRing.ids } : 'none',
      },
      'redis store open',
    );
    return store;
  }

  async write(slots: Int32Array, pages: readonly Buffer[], n: number, words: SlotWords): Promise<StoreResult<void>> {
    const kv: (string | Buffer)[] = [];
    const fields: (string | number)[] = [];
    const cipher = this.cipher;
    // Sealed values: views of one buffer per batch.
    let sealed: Buffer | undefined;
    if (cipher) {
      let total = 0;
      for (let i = 0; i < n; i++) if (slots[i]! >= 0) total += pages[i]!.length + OVERHEAD;
      sealed = Buffer.allocUnsafe(total);
    }
    let at = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      let value = pages[i]!;
      if (sealed) {
        const len = cipher!.seal(value, words.handleOf(s), this.tracker.epoch, sealed, at);
        value = sealed.subarray(at, at + len);
        at += len;
      }
      kv.push(this.pageKey(s), value);
      fields.push('SET', 'u16', `#${s}`, words.slotWord(s));
    }
    const res = await this.run(() =>
      this.redis
        .multi()
        .incr(this.tracker.seqKey)
        .mset(...kv)
        .call('BITFIELD', this.slotsKey, ...fields)
        .exec(),
    );
    return (await this.tracker.afterWrite(results(res)[0])) ? OK : DATA_LOST;
  }

  async read(slots: Int32Array, n: number, words: SlotWords): Promise<StoreResult<(Buffer | null)[]>> {
    const keys: string[] = new Array<string>(n);
    // The handles asked for, taken now: a later Delete may move a slot on while this read is in flight.
    const handles = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = this.pageKey(slots[i]!);
      handles[i] = words.handleOf(slots[i]!);
    }
    const res = await this.run(() =>
      this.redis
        .pipeline()
        .get(this.tracker.seqKey)
        .mgetBuffer(...keys)
        .exec(),
    );
    const [seq, pages] = results(res) as [string | null, (Buffer | null)[]];
    if (!(await this.tracker.afterRead(seq))) return DATA_LOST;
    return { ok: true, value: this.cipher ? this.unseal(pages, handles) : this.checkPlain(pages, handles) };
  }

  /** Opens sealed values into one buffer; DATA_LOSS naming the first that does not open under its handle. */
  private unseal(values: (Buffer | null)[], handles: Float64Array): (Buffer | null)[] {
    const out = Buffer.allocUnsafe(values.length * PAGE_SIZE);
    const pages = new Array<Buffer | null>(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value == null) {
        pages[i] = null;
        continue;
      }
      const r = this.cipher!.open(value, handles[i]!, out, i * PAGE_SIZE);
      if (typeof r !== 'number' || r !== PAGE_SIZE) {
        const why = typeof r === 'number' ? `it opens to ${r} bytes, not a page` : describeOpenFailure(r);
        this.unsealFailures++;
        this.options.log.error({ handle: handles[i], why }, 'a page in redis does not open: reported as DATA_LOSS');
        throw dataLoss(`handle ${handles[i]}: its page in the redis store cannot be trusted: ${why}`);
      }
      pages[i] = out.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    }
    return pages;
  }

  /** Unencrypted: a value that is not a page (one sealed by a service with a key) is DATA_LOSS. */
  private checkPlain(values: (Buffer | null)[], handles: Float64Array): (Buffer | null)[] {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v != null && v.length !== PAGE_SIZE) {
        const why =
          v.length === PAGE_SIZE + OVERHEAD
            ? 'it is sealed (encrypted), and this service has no --encryption-key-file'
            : `its value is ${v.length} bytes, not a page`;
        this.unsealFailures++;
        throw dataLoss(`handle ${handles[i]}: its page in the redis store cannot be used: ${why}`);
      }
    }
    return values;
  }

  async release(slots: Int32Array, n: number, words: SlotWords): Promise<StoreResult<void>> {
    const keys: string[] = [];
    const fields: (string | number)[] = [];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      keys.push(this.pageKey(s));
      fields.push('SET', 'u16', `#${s}`, words.slotWord(s));
    }
    if (keys.length === 0) return OK;
    const tx = this.redis.multi().incr(this.tracker.seqKey);
    if (this.discard) tx.del(...keys);
    tx.call('BITFIELD', this.slotsKey, ...fields);
    const res = await this.run(() => tx.exec());
    return (await this.tracker.afterWrite(results(res)[0])) ? OK : DATA_LOST;
  }

  /** Verifies Redis did not go back in time (see RedisEpoch.check). */
  async check(): Promise<StoreResult<void>> {
    return (await this.run(() => this.tracker.check())) ? DATA_LOST : OK;
  }

  /** Redis holds everything once a command returned; nothing to sync here. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  // ---- internals ----------------------------------------------------------

  private pageKey(slot: number): string {
    // Handle = slot + 1: the key names what the coordinator holds.
    return `${this.options.keyPrefix}${slot + 1}`;
  }

  /** The slot words Redis holds now. */
  private async readWords(): Promise<Uint16Array> {
    const buf = await this.run(() => this.redis.getBuffer(this.slotsKey));
    return buf ? decodeWords(buf) : new Uint16Array(0);
  }

  private async readPersistence(): Promise<void> {
    try {
      const res = (await this.redis.config('GET', 'appendonly')) as string[];
      this.volatile = res[1] !== 'yes';
    } catch {
      this.volatile = true;
    }
  }

  /** Runs a Redis call; any failure is UNAVAILABLE naming the server. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable('the redis store is closed: the service is stopping');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VswapError) throw err;
      throw unavailable(`redis at ${this.options.url}: ${errMessage(err)}`);
    }
  }
}

/** The replies of a MULTI or pipeline; the first error fails the call. */
function results(res: ExecResult): unknown[] {
  if (!res) throw unavailable('redis aborted the transaction');
  return res.map(([err, value]) => {
    if (err) throw unavailable(`redis: ${err.message}`);
    return value;
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
