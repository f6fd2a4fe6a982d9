/**
 * The Redis store: the remote tier. The page of handle h is the value of key
 * `<prefix><h>`; the allocation map is a bitmap at `<prefix>map` (bit i =
 * slot i, SETBIT numbering); `<prefix>epoch` is a random id and `<prefix>seq`
 * a counter every write increments.
 *
 * One round trip per batch: a Put is MULTI [INCR seq, MSET pages, BITFIELD
 * map] EXEC, a Delete MULTI [INCR seq, DEL, BITFIELD] EXEC (pages and map
 * change together), a Get a pipeline [GET seq, MGET].
 *
 * Detecting lost data: the counter only goes up, so a reply with a value
 * below the highest one already seen means Redis went back in time: it
 * restarted empty (no persistence), or from an older snapshot or AOF. Then
 * the store takes a new epoch and the service restores its allocation from
 * the map Redis has now (empty after a restart without persistence; written
 * in the same transactions as the pages otherwise), so Reconcile reports
 * exactly the handles that are gone. A page missing under an allocated
 * handle is reported as DATA_LOSS, never replaced by other bytes. Not
 * detectable: a rollback that happens while this service is down.
 * (Measured here: Lua scripts doing the same were about twice slower than
 * MSET/MGET, which is why this is not one script.)
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

// KEYS: epoch, map, seq. ARGV: a new epoch, "1" to replace the epoch even when one exists.
// Without an epoch key, whatever map there is came from writes into an empty
// Redis before the loss was noticed: dropped. Returns {epoch, map, seq}.
const CLAIM_SCRIPT = `
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
elseif ARGV[2] == '1' then
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return {e, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3])}`;

const DATA_LOST = { ok: false, error: 'data-lost' } as const;
const OK: StoreResult<void> = { ok: true, value: undefined };

type ExecResult = [error: Error | null, result: unknown][] | null;

export class RedisStore implements PageStore {
  readonly kind = 'redis';
  readonly fsyncs = 0;
  epoch = '';
  volatile = true;
  restoredMap: Uint8Array = new Uint8Array(0);

  private readonly epochKey: string;
  private readonly mapKey: string;
  private readonly seqKey: string;
  private readonly discard: boolean;
  /** The highest write counter Redis has answered: it must never go below. */
  private seqSeen = 0;
  private claiming: Promise<void> | undefined;
  private started = false;
  private closed = false;

  private constructor(
    private readonly options: RedisStoreOptions,
    private readonly redis: Redis,
  ) {
    this.epochKey = `${options.keyPrefix}epoch`;
    this.mapKey = `${options.keyPrefix}map`;
    this.seqKey = `${options.keyPrefix}seq`;
    this.discard = options.discard ?? true;
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
      throw new ConfigError(`--redis-url (VSWAP_SWAPFILE_REDIS_URL): cannot reach redis at ${options.url}: ${lastError || errMessage(err)}`);
    }
    try {
      await store.readPersistence();
      const state = await store.claim(false);
      store.epoch = state.epoch;
      store.restoredMap = state.map;
      store.seqSeen = state.seq;
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
    const kv: (string | Buffer)[] = [];
    const bits: (string | number)[] = [];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      kv.push(this.pageKey(s), pages[i]!);
      bits.push('SET', 'u1', s, 1);
    }
    const res = await this.run(() => this.redis.multi().incr(this.seqKey).mset(...kv).call('BITFIELD', this.mapKey, ...bits).exec());
    return this.afterWrite(res);
  }

  async read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>> {
    const keys: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = this.pageKey(slots[i]!);
    const res = await this.run(() => this.redis.pipeline().get(this.seqKey).mgetBuffer(...keys).exec());
    const [seq, pages] = results(res) as [string | null, (Buffer | null)[]];
    if (Number(seq ?? 0) < this.seqSeen) {
      await this.check();
      return DATA_LOST;
    }
    return { ok: true, value: pages };
  }

  async release(slots: Int32Array, n: number): Promise<StoreResult<void>> {
    const keys: string[] = [];
    const bits: (string | number)[] = [];
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      keys.push(this.pageKey(s));
      bits.push('SET', 'u1', s, 0);
    }
    if (keys.length === 0) return OK;
    const tx = this.redis.multi().incr(this.seqKey);
    if (this.discard) tx.del(...keys);
    tx.call('BITFIELD', this.mapKey, ...bits);
    const res = await this.run(() => tx.exec());
    return this.afterWrite(res);
  }

  /**
   * Compares the counter and epoch in Redis with ours; when Redis went back
   * in time (or has no epoch), takes a new epoch and tells the service the
   * map Redis has now. Concurrent callers share one check.
   */
  async check(): Promise<StoreResult<void>> {
    const before = this.epoch;
    if (!this.claiming) {
      this.claiming = this.run(() => this.redis.pipeline().get(this.epochKey).get(this.seqKey).exec())
        .then(async (res) => {
          const [epoch, seq] = results(res) as [string | null, string | null];
          if (epoch === this.epoch && Number(seq ?? 0) >= this.seqSeen) return;
          const state = await this.claim(true);
          this.options.log.warn({ from: this.epoch, to: state.epoch, volatile: this.volatile }, 'redis lost data (it went back in time): new epoch');
          this.epoch = state.epoch;
          this.seqSeen = state.seq;
          this.options.onEpochChange(state.epoch, state.map);
        })
        .finally(() => {
          this.claiming = undefined;
        });
    }
    await this.claiming;
    return before === this.epoch ? OK : DATA_LOST;
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

  /** A write's INCR reply: at or below what we saw before means Redis lost data. */
  private async afterWrite(res: ExecResult): Promise<StoreResult<void>> {
    const seq = Number(results(res)[0]);
    if (seq > this.seqSeen) {
      this.seqSeen = seq;
      return OK;
    }
    await this.check();
    return DATA_LOST;
  }

  /** Reads (and if needed replaces) the epoch; returns it with the map and counter Redis has. */
  private async claim(replace: boolean): Promise<{ epoch: string; map: Uint8Array; seq: number }> {
    const res = (await this.run(() =>
      this.redis.callBuffer('EVAL', [CLAIM_SCRIPT, 3, this.epochKey, this.mapKey, this.seqKey, newEpoch(), replace ? '1' : '0']),
    )) as [Buffer, Buffer | null, Buffer | null];
    return { epoch: res[0].toString('latin1'), map: res[1] ? new Uint8Array(res[1]) : new Uint8Array(0), seq: res[2] ? Number(res[2].toString()) : 0 };
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

function newEpoch(): string {
  return crypto.randomBytes(16).toString('hex');
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
