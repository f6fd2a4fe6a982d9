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
 */
import Redis from 'ioredis';
import type { Logger } from '../common/logger';
import { unavailable, VswapError } from '../common/errors';
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
}

const DATA_LOST = { ok: false, error: 'data-lost' } as const;
const OK: StoreResult<void> = { ok: true, value: undefined };

type ExecResult = [error: Error | null, result: unknown][] | null;

export class RedisStore implements PageStore {
  readonly kind = 'redis';
  readonly fsyncs = 0;
  volatile = true;
  restoredWords: Uint16Array = new Uint16Array(0);

  private readonly slotsKey: string;
  private readonly discard: boolean;
  private readonly tracker: RedisEpoch;
  private started = false;
  private closed = false;

  private constructor(
    private readonly options: RedisStoreOptions,
    private readonly redis: Redis,
  ) {
    this.slotsKey = `${options.keyPrefix}slots`;
    this.discard = options.discard ?? true;
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
        `--redis-url (VSWAP_SWAPFILE_REDIS_URL): redis at ${options.url} refused the start-up commands: ${errMessage(err)}`,
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
    log.info({ url: options.url, epoch: store.epoch, volatile: store.volatile }, 'redis store open');
    return store;
  }

  async write(slots: Int32Array, pages: readonly Buffer[], n: number, words: SlotWords): Promise<StoreResult<void>> {
    const kv: (string | Buffer)[] = [];
    const fields: (string | number)[] = [];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      kv.push(this.pageKey(s), pages[i]!);
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

  async read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>> {
    const keys: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = this.pageKey(slots[i]!);
    const res = await this.run(() =>
      this.redis
        .pipeline()
        .get(this.tracker.seqKey)
        .mgetBuffer(...keys)
        .exec(),
    );
    const [seq, pages] = results(res) as [string | null, (Buffer | null)[]];
    return (await this.tracker.afterRead(seq)) ? { ok: true, value: pages } : DATA_LOST;
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
