/**
 * Objects in Redis (a remote memory tier standing in for the pool): one hash
 * of handle -> compressed bytes, one of handle -> length (so a restart can
 * rebuild the entries without fetching every object), and an epoch key. A
 * batch is one MULTI (HSET/HDEL) or one HMGET: one round trip per call.
 *
 * The epoch lives in Redis itself: it survives a restart of this service, and
 * changes only when Redis lost the key with the rest of its data.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { unavailable } from '../common/errors';
import type { Logger } from '../common/logger';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import { optionName } from './config';
import type { EpochCheck, ObjectStore, RecoveredEntry } from './object-store';

export interface RedisObjectStoreOptions {
  url: string;
  /** Prefix of every key; default "vswap:zswap:". */
  keyPrefix?: string;
  log: Logger;
  /** Connect timeout at start-up; default 5000 ms. */
  connectTimeoutMs?: number;
}

export class RedisObjectStore implements ObjectStore {
  readonly kind = 'redis' as const;
  private readonly objectsKey: string;
  private readonly lengthsKey: string;
  private readonly epochKey: string;
  private held = 0;
  private epoch: string | undefined;
  // Staged objects of the batch being stored: copied here, written by commit().
  private readonly staging = Buffer.allocUnsafeSlow(MAX_BATCH * PAGE_SIZE);
  private stagedBytes = 0;
  private readonly stagedHandles: number[] = [];
  private readonly stagedEnds: number[] = [];
  private readonly reconnectListeners: (() => void)[] = [];

  private constructor(
    private readonly redis: Redis,
    readonly volatile: boolean,
    private readonly url: string,
    keyPrefix: string,
  ) {
    this.objectsKey = `${keyPrefix}objects`;
    this.lengthsKey = `${keyPrefix}lengths`;
    this.epochKey = `${keyPrefix}epoch`;
  }

  /** Connects, or throws an error naming --redis-url when Redis cannot be reached. */
  static async connect(options: RedisObjectStoreOptions): Promise<RedisObjectStore> {
    const { log } = options;
    let started = false;
    const redis = new Redis(options.url, {
      lazyConnect: true,
      // Fail calls at once while disconnected: a clear UNAVAILABLE beats a hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // No retry at start-up (refuse to start); afterwards reconnect forever.
      retryStrategy: (times) => (started ? Math.min(times * 100, 2000) : null),
    });
    let lastError = '';
    redis.on('error', (err: Error) => {
      if (err.message !== lastError) log.warn({ err: err.message }, 'redis connection error');
      lastError = err.message;
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`${optionName('redisUrl')}: cannot reach Redis at ${redactUrl(options.url)}: ${lastError || (err instanceof Error ? err.message : String(err))}`);
    }
    started = true;
    const volatile = await detectVolatile(redis);
    const store = new RedisObjectStore(redis, volatile, redactUrl(options.url), options.keyPrefix ?? 'vswap:zswap:');
    let wasReady = true;
    redis.on('close', () => {
      if (wasReady) log.warn({ url: store.url }, 'lost the connection to redis; reconnecting');
      wasReady = false;
    });
    redis.on('ready', () => {
      wasReady = true;
      lastError = '';
      log.info({ url: store.url }, 'reconnected to redis');
      for (const l of store.reconnectListeners) l();
    });
    return store;
  }

  heldBytes(): number {
    return this.held;
  }
  objectBytes(): number {
    return this.held;
  }
  growthFor(length: number): number {
    return length;
  }

  add(handle: number, data: Uint8Array): number {
    this.staging.set(data, this.stagedBytes);
    this.stagedBytes += data.length;
    this.stagedHandles.push(handle);
    this.stagedEnds.push(this.stagedBytes);
    this.held += data.length;
    return 0;
  }

  async commit(): Promise<void> {
    const n = this.stagedHandles.length;
    if (n === 0) return;
    const objects: (string | Buffer)[] = [];
    const lengths: (string | number)[] = [];
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = this.stagedEnds[i]!;
      const field = String(this.stagedHandles[i]);
      objects.push(field, this.staging.subarray(start, end));
      lengths.push(field, end - start);
      start = end;
    }
    try {
      await this.exec(this.redis.multi().hset(this.objectsKey, ...objects).hset(this.lengthsKey, ...lengths), 'store');
    } catch (err) {
      this.held -= this.stagedBytes;
      throw err;
    } finally {
      this.stagedBytes = 0;
      this.stagedHandles.length = 0;
      this.stagedEnds.length = 0;
    }
  }

  async read(handles: readonly number[]): Promise<(Uint8Array | null)[]> {
    try {
      return await this.redis.hmgetBuffer(this.objectsKey, ...handles.map(String));
    } catch (err) {
      throw this.unavailable('read', err);
    }
  }

  async remove(handles: readonly number[], _locations: readonly number[], lengths: readonly number[]): Promise<void> {
    const fields = handles.map(String);
    await this.exec(this.redis.multi().hdel(this.objectsKey, ...fields).hdel(this.lengthsKey, ...fields), 'delete');
    for (const len of lengths) this.held -= len;
  }

  async checkEpoch(): Promise<EpochCheck> {
    let current: string | null;
    try {
      const res = await this.redis.pipeline().set(this.epochKey, randomBytes(8).toString('hex'), 'NX').get(this.epochKey).exec();
      const got = res?.[1];
      if (!got || got[0]) throw got?.[0] ?? new Error('no reply');
      current = got[1] as string | null;
    } catch (err) {
      throw this.unavailable('read the epoch', err);
    }
    if (current === null) throw unavailable(`redis ${this.url}: epoch key vanished while being set`);
    const changed = this.epoch !== undefined && this.epoch !== current;
    this.epoch = current;
    return { epoch: current, changed };
  }

  async recover(): Promise<RecoveredEntry[]> {
    let all: Record<string, string>;
    try {
      all = await this.redis.hgetall(this.lengthsKey);
    } catch (err) {
      throw this.unavailable('list entries', err);
    }
    const out: RecoveredEntry[] = [];
    let held = 0;
    for (const [field, len] of Object.entries(all)) {
      const entry = { handle: Number(field), length: Number(len) };
      out.push(entry);
      held += entry.length;
    }
    this.held = held;
    return out;
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private async exec(multi: ReturnType<Redis['multi']>, what: string): Promise<void> {
    let res: [Error | null, unknown][] | null;
    try {
      res = await multi.exec();
    } catch (err) {
      throw this.unavailable(what, err);
    }
    if (!res) throw unavailable(`redis ${this.url}: ${what} was aborted`);
    for (const [err] of res) if (err) throw this.unavailable(what, err);
  }

  private unavailable(what: string, err: unknown): Error {
    return unavailable(`redis ${this.url}: cannot ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Without AOF or RDB snapshots Redis loses everything when it dies. */
async function detectVolatile(redis: Redis): Promise<boolean> {
  try {
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    const save = (await redis.config('GET', 'save')) as string[];
    return aof[1] !== 'yes' && (save[1] ?? '') === '';
  } catch {
    return false; // CONFIG disabled (managed Redis): assume it persists
  }
}

/** The URL without its password, for logs and errors. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
