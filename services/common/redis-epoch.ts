/**
 * The one way a Redis-backed store (swapfile, zswap) finds out that Redis lost
 * data. Two keys next to the store's own:
 *
 *   <prefix>epoch  a random id; the epoch the store's handles belong to
 *   <prefix>seq    a counter every write of the store increments (INCR inside
 *                  the write's own MULTI, so the data and the counter move
 *                  together and roll back together)
 *
 * The service remembers the highest counter Redis has answered. Redis only
 * counts up, so a reply below that value means Redis went back in time:
 * restarted empty (no persistence; the epoch key is gone too) or restarted from
 * an older AOF/RDB (the epoch key is still there, but the counter is lower).
 * Either way the store takes a new epoch and re-reads what Redis holds now.
 * Not detectable: a rollback while the service itself is down (it remembers
 * nothing then) — the epoch key is kept, so only a Redis that lost everything
 * shows at the next start.
 */
import * as crypto from 'node:crypto';
import type Redis from 'ioredis';
import { unavailable, VswapError } from './errors';
import type { Logger } from './logger';

// KEYS: epoch, seq, then the store's data keys. ARGV: a new epoch, "1" to
// replace the epoch even when one exists. Without an epoch key whatever data
// there is came from writes into an empty Redis before the loss was noticed:
// dropped with it. Returns {epoch, seq}.
const CLAIM_SCRIPT = `
local e = redis.call('GET', KEYS[1])
if not e then
  for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
elseif ARGV[2] == '1' then
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return {e, redis.call('GET', KEYS[2]) or '0'}`;

export interface RedisEpochOptions {
  redis: Redis;
  /** Prefix of the store's keys: the epoch and counter are `<prefix>epoch`, `<prefix>seq`. */
  keyPrefix: string;
  /** The store's data keys, dropped when Redis is found without an epoch. */
  dataKeys: readonly string[];
  /** For messages: where Redis is (no password). */
  url: string;
  log: Logger;
  /**
   * Called once per loss, after the new epoch is set and before check()
   * resolves: the store re-reads (and may rewrite) what Redis holds now.
   */
  onLoss(epoch: string): Promise<void>;
}

export class RedisEpoch {
  readonly epochKey: string;
  readonly seqKey: string;
  /** The epoch the store's handles belong to now ('' before open()). */
  epoch = '';
  /** Times a loss was found since the service started. */
  losses = 0;
  /** The highest counter Redis has answered: it must never go below. */
  private seqSeen = 0;
  private checking: Promise<void> | undefined;

  constructor(private readonly options: RedisEpochOptions) {
    this.epochKey = `${options.keyPrefix}epoch`;
    this.seqKey = `${options.keyPrefix}seq`;
  }

  /** At start: takes the epoch Redis has (or makes one) and the counter. */
  async open(): Promise<void> {
    const { epoch, seq } = await this.claim(false);
    this.epoch = epoch;
    this.seqSeen = seq;
  }

  /**
   * A write's INCR reply. True when Redis is where we left it; false when it
   * went back in time (then the new epoch is already taken and the store has
   * re-read its state).
   */
  async afterWrite(seq: unknown): Promise<boolean> {
    const n = Number(seq);
    if (n > this.seqSeen) {
      this.seqSeen = n;
      return true;
    }
    return !(await this.check());
  }

  /** A read's GET seq reply: false (after check()) when Redis went back in time. */
  async afterRead(seq: unknown): Promise<boolean> {
    if (Number(seq ?? 0) >= this.seqSeen) return true;
    return !(await this.check());
  }

  /**
   * Compares the epoch and counter in Redis with what we remember; when Redis
   * went back in time (or has no epoch), takes a new epoch and lets the store
   * re-read. True when the epoch changed during this call. Concurrent
   * callers share one check.
   */
  async check(): Promise<boolean> {
    const before = this.epoch;
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    await this.checking;
    return before !== this.epoch;
  }

  private async checkOnce(): Promise<void> {
    const res = await this.run(() => this.options.redis.pipeline().get(this.epochKey).get(this.seqKey).exec());
    if (!res) throw unavailable(`redis at ${this.options.url}: the epoch check was aborted`);
    const [[e1, epoch], [e2, seq]] = res as [[Error | null, string | null], [Error | null, string | null]];
    if (e1 || e2) throw unavailable(`redis at ${this.options.url}: ${(e1 ?? e2)!.message}`);
    if (epoch === this.epoch && Number(seq ?? 0) >= this.seqSeen) return;
    const state = await this.claim(true);
    this.options.log.warn(
      {
        from: this.epoch,
        to: state.epoch,
        seqSeen: this.seqSeen,
        seqFound: Number(seq ?? 0),
        epochKept: epoch !== null,
      },
      epoch === null
        ? 'redis lost its data (restarted empty): new epoch'
        : 'redis went back in time (an older AOF/RDB): new epoch',
    );
    this.epoch = state.epoch;
    this.seqSeen = state.seq;
    this.losses++;
    await this.options.onLoss(state.epoch);
  }

  private async claim(replace: boolean): Promise<{ epoch: string; seq: number }> {
    const keys = [this.epochKey, this.seqKey, ...this.options.dataKeys];
    const res = (await this.run(() =>
      this.options.redis.call(
        'EVAL',
        CLAIM_SCRIPT,
        keys.length,
        ...keys,
        crypto.randomBytes(16).toString('hex'),
        replace ? '1' : '0',
      ),
    )) as [string, string];
    return { epoch: res[0], seq: Number(res[1]) };
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VswapError) throw err;
      throw unavailable(`redis at ${this.options.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
