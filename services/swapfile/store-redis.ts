/**
 * The Redis store: the remote tier. The page of handle h is the value of key
 * `<prefix><h>`; the allocation map is a bitmap at `<prefix>map` (bit i =
 * slot i, SETBIT numbering); the epoch is a random id at `<prefix>epoch`.
 *
 * Every batch is one Lua script, so one round trip per Put/Get/Delete of up to
 * 512 pages, and atomic: each script first compares the epoch key with the
 * epoch this service knows. A Redis that restarted without persistence has no
 * epoch key, so nothing is written into it by mistake and no stale page is
 * served: the script answers "epoch changed", the store claims a new epoch,
 * and the service starts over from the (empty) map it finds there. Scripts go
 * as EVAL, not EVALSHA: a NOSCRIPT retry would reorder a Delete after a later
 * Put to the same slot; Redis caches the compiled script anyway.
 *
 * volatile: true unless the Redis server has appendonly on (CONFIG GET
 * appendonly; a server that refuses CONFIG counts as volatile).
 */
import * as crypto from 'node:crypto';
import Redis from 'ioredis';
import type { Logger } from '../common/logger';
import { unavailable, VswapError } from '../common/errors';
import { ConfigError } from '../common/config';
import type { PageStore, StoreResult } from './page-store';

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
   * Called when the store finds that Redis lost (or replaced) its data: the
   * new epoch and the allocation map found in Redis now (usually empty).
   */
  onEpochChange(epoch: string, map: Uint8Array): void;
  /** Connect timeout at start, default 3000 ms. */
  connectTimeoutMs?: number;
}

// KEYS: epoch, map, page keys... ARGV: epoch, pages..., slots...
const PUT_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = #KEYS - 2
for i = 1, n do
  redis.call('SET', KEYS[i + 2], ARGV[i + 1])
  redis.call('SETBIT', KEYS[2], ARGV[n + 1 + i], 1)
end
return 1`;

// KEYS: epoch, page keys... ARGV: epoch
const GET_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
return {1, redis.call('MGET', unpack(KEYS, 2))}`;

// KEYS: epoch, map, page keys... ARGV: epoch, discard (0|1), slots...
const DELETE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = #KEYS - 2
for i = 1, n do
  redis.call('SETBIT', KEYS[2], ARGV[i + 2], 0)
  if ARGV[2] == '1' then redis.call('DEL', KEYS[i + 2]) end
end
return 1`;

// KEYS: epoch, map. ARGV: a new epoch, used when Redis has none.
// Returns the epoch in Redis and its map (nil when it was just claimed).
const CLAIM_SCRIPT = `
local e = redis.call('GET', KEYS[1])
if e then return {e, redis.call('GET', KEYS[2])} end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], false}`;

const DATA_LOST = { ok: false, error: 'data-lost' } as const;
const OK: StoreResult<void> = { ok: true, value: undefined };

export class RedisStore implements PageStore {
  readonly kind = 'redis';
  readonly fsyncs = 0;
  epoch = '';
  volatile = true;
  restoredMap: Uint8Array = new Uint8Array(0);

  private readonly epochKey: string;
  private readonly mapKey: string;
  private readonly discard: boolean;
  private claiming: Promise<void> | undefined;
  private started = false;
  private closed = false;

  private constructor(
    private readonly options: RedisStoreOptions,
    private readonly redis: Redis,
  ) {
    this.epochKey = `${options.keyPrefix}epoch`;
    this.mapKey = `${options.keyPrefix}map`;
    this.discard = options.discard ?? true;
  }

  /** Connects (refusing to start when Redis cannot be reached) and loads the epoch and map. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const { log } = options;
    let store: RedisStore | undefined;
    const redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 3000,
      // At start, fail at once; later, reconnect quickly and fail a request
      // (UNAVAILABLE) after two attempts rather than hold it for long.
      retryStrategy: (times) => (store?.started ? Math.min(times * 100, 1000) : null),
      maxRetriesPerRequest: 2,
    });
    store = new RedisStore(options, redis);
    let lastError = '';
    redis.on('error', (err: Error) => {
      if (err.message === lastError) return;
      lastError = err.message;
      if (store?.started) log.warn({ err: err.message, url: options.url }, 'redis connection error');
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      // The 'error' event carries the cause (ECONNREFUSED...); the rejection only says "closed".
      throw new ConfigError(`--redis-url (VSWAP_SWAPFILE_REDIS_URL): cannot reach redis at ${options.url}: ${lastError || errMessage(err)}`);
    }
    try {
      await store.readPersistence();
      const [epoch, map] = await store.claim();
      store.epoch = epoch;
      store.restoredMap = map;
    } catch (err) {
      redis.disconnect();
      throw new ConfigError(`--redis-url (VSWAP_SWAPFILE_REDIS_URL): redis at ${options.url} refused the start-up commands: ${errMessage(err)}`);
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

  async write(slots: Int32Array, pages: readonly Buffer[], n: number): Promise<StoreResult<void>> {
    const keys: string[] = [this.epochKey, this.mapKey];
    const values: (string | Buffer)[] = [this.epoch];
    const bits: string[] = [];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      keys.push(this.pageKey(s));
      values.push(pages[i]!);
      bits.push(String(s));
    }
    const res = await this.run(() => this.redis.eval(PUT_SCRIPT, keys.length, ...keys, ...values, ...bits));
    if (res === 1) return OK;
    await this.check();
    return DATA_LOST;
  }

  async read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>> {
    const keys: string[] = [this.epochKey];
    for (let i = 0; i < n; i++) keys.push(this.pageKey(slots[i]!));
    const res = (await this.run(() => this.redis.callBuffer('EVAL', [GET_SCRIPT, keys.length, ...keys, this.epoch]))) as [number, (Buffer | null)[]?];
    if (res[0] !== 1 || !res[1]) {
      await this.check();
      return DATA_LOST;
    }
    return { ok: true, value: res[1] };
  }

  async release(slots: Int32Array, n: number): Promise<StoreResult<void>> {
    const keys: string[] = [this.epochKey, this.mapKey];
    const args: string[] = [this.epoch, this.discard ? '1' : '0'];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      keys.push(this.pageKey(s));
      args.push(String(s));
    }
    if (keys.length === 2) return OK;
    const res = await this.run(() => this.redis.eval(DELETE_SCRIPT, keys.length, ...keys, ...args));
    if (res === 1) return OK;
    await this.check();
    return DATA_LOST;
  }

  /**
   * Compares the epoch in Redis with ours; on a difference (or none there)
   * adopts Redis's (claiming a new one when there is none) and tells the
   * service. Concurrent callers share one check.
   */
  async check(): Promise<StoreResult<void>> {
    if (!this.claiming) {
      this.claiming = this.claim()
        .then(([epoch, map]) => {
          if (epoch === this.epoch) return;
          this.options.log.warn({ from: this.epoch, to: epoch, volatile: this.volatile }, 'redis lost its data (epoch changed): pages stored before are gone');
          this.epoch = epoch;
          this.options.onEpochChange(epoch, map);
        })
        .finally(() => {
          this.claiming = undefined;
        });
    }
    const before = this.epoch;
    await this.claiming;
    return before === this.epoch ? OK : DATA_LOST;
  }

  /** Redis holds everything once a script returned; nothing to sync here. */
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

  private async claim(): Promise<[string, Uint8Array]> {
    const res = (await this.run(() => this.redis.callBuffer('EVAL', [CLAIM_SCRIPT, 2, this.epochKey, this.mapKey, newEpoch()]))) as [Buffer, Buffer | null];
    return [res[0].toString('latin1'), res[1] ? new Uint8Array(res[1]) : new Uint8Array(0)];
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

function newEpoch(): string {
  return crypto.randomBytes(16).toString('hex');
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
