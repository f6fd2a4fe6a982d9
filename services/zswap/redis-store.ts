/**
 * Objects in Redis (a remote memory tier standing in for the pool): one hash
 * of handle -> compressed bytes, one of handle -> "length:tag" (so a restart
 * can rebuild the entries without fetching every object). A store is one
 * MULTI [INCR seq, HSET, HSET], a delete MULTI [INCR seq, HDEL, HDEL], a read
 * a pipeline [GET seq, HMGET]: one round trip per call.
 *
 * Loss detection is services/common/redis-epoch.ts, shared with the swapfile:
 * an epoch key and a write counter the service remembers, so both a Redis
 * that restarted empty and one that came back from an older AOF/RDB are seen
 * (a counter below the one remembered), at the next call or reconnect.
 *
 * With a key ring (--encryption-key-file) every object is sealed after
 * compression with AES-256-GCM (services/common/page-cipher.ts: its handle,
 * the epoch and "zswap:<prefix>" authenticated with it): the objects hash
 * holds length + OVERHEAD bytes per object, the lengths hash still the
 * compressed length. An object that does not open under its handle is
 * DATA_LOSS; so is a sealed object found by a service without a key.
 */
import { Redis } from 'ioredis';
import { dataLoss, unavailable } from '../common/errors';
import { describeOpenFailure, FORMAT_VERSION, OVERHEAD, PageCipher, type KeyRing } from '../common/page-cipher';
import { RedisEpoch } from '../common/redis-epoch';
import type { Logger } from '../common/logger';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import { optionName } from './config';
import type { CommitResult, EpochCheck, ObjectStore, RecoveredEntry } from './object-store';

export interface RedisObjectStoreOptions {
  url: string;
  /** Prefix of every key; default "vswap:zswap:". */
  keyPrefix?: string;
  log: Logger;
  /** Connect timeout at start-up; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Seal every object with this key ring (its first key); undefined: store objects unencrypted. */
  keyRing?: KeyRing;
  /** Logged as a warning at connect when there is no key ring. */
  plaintextWarning?: string;
}

export class RedisObjectStore implements ObjectStore {
  readonly kind = 'redis' as const;
  private readonly objectsKey: string;
  private readonly lengthsKey: string;
  private readonly tracker: RedisEpoch;
  /** Bytes of the objects held (their compressed lengths). */
  private held = 0;
  /** Objects read that did not open under their handle (each answered DATA_LOSS). */
  unsealFailures = 0;
  /** Objects held: each costs `envelope` bytes more in Redis. */
  private count = 0;
  /** Bytes a sealed value adds to its object (0 unencrypted). */
  private readonly envelope: number;
  /** The epoch checkEpoch() last reported (undefined before the first call). */
  private reported: string | undefined;
  // Staged objects of the batch being stored: copied (or sealed) here, written by commit().
  private readonly staging: Buffer;
  private stagedBytes = 0;
  /** Sum of the staged objects' own (compressed) lengths. */
  private stagedLength = 0;
  private readonly stagedLengths: number[] = [];
  private readonly stagedHandles: number[] = [];
  private readonly stagedEnds: number[] = [];
  private readonly stagedTags: number[] = [];
  private readonly reconnectListeners: (() => void)[] = [];

  private constructor(
    private readonly redis: Redis,
    readonly volatile: boolean,
    private readonly url: string,
    keyPrefix: string,
    private readonly log: Logger,
    private readonly cipher: PageCipher | undefined,
  ) {
    this.envelope = cipher ? OVERHEAD : 0;
    this.staging = Buffer.allocUnsafeSlow(MAX_BATCH * (PAGE_SIZE + this.envelope));
    this.objectsKey = `${keyPrefix}objects`;
    this.lengthsKey = `${keyPrefix}lengths`;
    // The core re-reads the entries when checkEpoch() reports the change.
    this.tracker = new RedisEpoch({
      redis,
      keyPrefix,
      dataKeys: [this.objectsKey, this.lengthsKey],
      url,
      log,
      onLoss: () => Promise.resolve(),
    });
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
      throw new Error(
        `${optionName('redisUrl')}: cannot reach Redis at ` +
          `${redactUrl(options.url)}: ` +
          `${lastError || (err instanceof Error ? err.message : String(err))}`,
      );
    }
    started = true;
    const volatile = await detectVolatile(redis);
    const keyPrefix = options.keyPrefix ?? 'vswap:zswap:';
    const store = new RedisObjectStore(
      redis,
      volatile,
      redactUrl(options.url),
      keyPrefix,
      log,
      options.keyRing && new PageCipher(options.keyRing, `zswap:${keyPrefix}`),
    );
    try {
      await store.tracker.open();
    } catch (err) {
      redis.disconnect();
      throw new Error(
        `${optionName('redisUrl')}: Redis at ${store.url} refused the start-up ` +
          `commands: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (options.keyRing)
      log.info({ url: store.url, cipher: 'aes-256-gcm', keyIds: options.keyRing.ids }, 'redis objects are encrypted');
    else log.warn({ url: store.url }, options.plaintextWarning ?? 'objects are stored in Redis unencrypted');
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

  /** Bytes of the values in Redis: the objects, and their envelopes when sealed. */
  heldBytes(): number {
    return this.held + this.count * this.envelope;
  }
  objectBytes(): number {
    return this.held;
  }
  growthFor(length: number): number {
    return length + this.envelope;
  }

  add(handle: number, data: Uint8Array, tag: number): number {
    if (this.cipher)
      this.stagedBytes += this.cipher.seal(data, handle, this.tracker.epoch, this.staging, this.stagedBytes);
    else {
      this.staging.set(data, this.stagedBytes);
      this.stagedBytes += data.length;
    }
    this.stagedLength += data.length;
    this.stagedLengths.push(data.length);
    this.stagedHandles.push(handle);
    this.stagedEnds.push(this.stagedBytes);
    this.stagedTags.push(tag);
    this.held += data.length;
    this.count++;
    return 0;
  }

  async commit(): Promise<CommitResult> {
    const n = this.stagedHandles.length;
    if (n === 0) return 'ok';
    const objects: (string | Buffer)[] = [];
    const lengths: (string | number)[] = [];
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = this.stagedEnds[i]!;
      const field = String(this.stagedHandles[i]);
      objects.push(field, this.staging.subarray(start, end));
      lengths.push(field, `${this.stagedLengths[i]!}:${this.stagedTags[i]!}`);
      start = end;
    }
    let seq: unknown;
    try {
      seq = (
        await this.exec(
          this.redis
            .multi()
            .incr(this.tracker.seqKey)
            .hset(this.objectsKey, ...objects)
            .hset(this.lengthsKey, ...lengths),
          'store',
        )
      )[0];
    } catch (err) {
      this.held -= this.stagedLength;
      this.count -= n;
      throw err;
    } finally {
      this.stagedBytes = 0;
      this.stagedLength = 0;
      this.stagedLengths.length = 0;
      this.stagedHandles.length = 0;
      this.stagedEnds.length = 0;
      this.stagedTags.length = 0;
    }
    // Redis went back in time before this write: it landed in a state the core does not know.
    return (await this.tracker.afterWrite(seq)) ? 'ok' : 'lost';
  }

  async read(
    handles: readonly number[],
    _locations: readonly number[],
    lengths: readonly number[],
  ): Promise<(Uint8Array | null)[]> {
    let res: [Error | null, unknown][] | null;
    try {
      res = await this.redis
        .pipeline()
        .get(this.tracker.seqKey)
        .hmgetBuffer(this.objectsKey, ...handles.map(String))
        .exec();
    } catch (err) {
      throw this.unavailable('read', err);
    }
    if (!res) throw unavailable(`redis ${this.url}: read was aborted`);
    for (const [err] of res) if (err) throw this.unavailable('read', err);
    // Went back in time: the objects may be older ones; the core re-checks the epoch on a miss.
    if (!(await this.tracker.afterRead(res[0]![1]))) return handles.map(() => null);
    const values = res[1]![1] as (Buffer | null)[];
    return this.cipher ? this.unseal(values, handles, lengths) : this.checkPlain(values, handles, lengths);
  }

  /** Opens sealed objects into one buffer; DATA_LOSS naming the first that does not open under its handle. */
  private unseal(values: (Buffer | null)[], handles: readonly number[], lengths: readonly number[]): (Buffer | null)[] {
    let total = 0;
    for (const len of lengths) total += len;
    const out = Buffer.allocUnsafe(total);
    const objects = new Array<Buffer | null>(values.length);
    let at = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const length = lengths[i]!;
      if (value == null) objects[i] = null;
      else {
        const r = this.cipher!.open(value, handles[i]!, out, at);
        if (typeof r !== 'number' || r !== length) {
          const why =
            typeof r === 'number' ? `it opens to ${r} bytes, not the ${length} recorded` : describeOpenFailure(r);
          this.unsealFailures++;
          this.log.error({ handle: handles[i], why }, 'an object in redis does not open: reported as DATA_LOSS');
          throw dataLoss(`handle ${handles[i]}: its object in the redis store cannot be trusted: ${why}`);
        }
        objects[i] = out.subarray(at, at + length);
      }
      at += length;
    }
    return objects;
  }

  /** Unencrypted: an object sealed by a service with a key is DATA_LOSS (never handed to the decompressor). */
  private checkPlain(
    values: (Buffer | null)[],
    handles: readonly number[],
    lengths: readonly number[],
  ): (Buffer | null)[] {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v != null && v.length === lengths[i]! + OVERHEAD && v[0] === FORMAT_VERSION) {
        this.unsealFailures++;
        throw dataLoss(
          `handle ${handles[i]}: its object in the redis store is sealed ` +
            '(encrypted), and this service has no --encryption-key-file',
        );
      }
    }
    return values;
  }

  async remove(handles: readonly number[], _locations: readonly number[], lengths: readonly number[]): Promise<void> {
    const fields = handles.map(String);
    const res = await this.exec(
      this.redis
        .multi()
        .incr(this.tracker.seqKey)
        .hdel(this.objectsKey, ...fields)
        .hdel(this.lengthsKey, ...fields),
      'delete',
    );
    for (const len of lengths) this.held -= len;
    this.count -= handles.length;
    // A loss seen here is reported by the next checkEpoch().
    await this.tracker.afterWrite(res[0]);
  }

  async checkEpoch(): Promise<EpochCheck> {
    await this.tracker.check();
    const current = this.tracker.epoch;
    const changed = this.reported !== undefined && this.reported !== current;
    this.reported = current;
    return { epoch: current, changed };
  }

  /** Times Redis was found to have lost data (restart or rollback) since this service started. */
  get losses(): number {
    return this.tracker.losses;
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
    for (const [field, value] of Object.entries(all)) {
      // "length:tag" ("length" alone from before tags).
      const colon = value.indexOf(':');
      const entry =
        colon < 0
          ? { handle: Number(field), length: Number(value), tag: 0 }
          : { handle: Number(field), length: Number(value.slice(0, colon)), tag: Number(value.slice(colon + 1)) };
      out.push(entry);
      held += entry.length;
    }
    this.held = held;
    this.count = out.length;
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

  /** Runs a MULTI; the replies, or UNAVAILABLE naming what failed. */
  private async exec(multi: ReturnType<Redis['multi']>, what: string): Promise<unknown[]> {
    let res: [Error | null, unknown][] | null;
    try {
      res = await multi.exec();
    } catch (err) {
      throw this.unavailable(what, err);
    }
    if (!res) throw unavailable(`redis ${this.url}: ${what} was aborted`);
    for (const [err] of res) if (err) throw this.unavailable(what, err);
    return res.map(([, value]) => value);
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
