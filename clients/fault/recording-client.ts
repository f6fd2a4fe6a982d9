/**
 * The SDK client the fault harness hands to the workload. It adds what a
 * checker needs and a plain client cannot know:
 *
 * - an oracle: the checksum of the last page stored in every (owner, slot),
 *   taken from the request the cluster acknowledged, so the checker reads
 *   back independently of the workload's own bookkeeping;
 * - honest ambiguity: grpc-js answers UNAVAILABLE both when a request never
 *   left ("No connection established") and when the connection died with
 *   the request in flight ("Connection dropped", ECONNRESET). The second may
 *   have been carried out (a coordinator killed after its journal commit),
 *   so for a mutation it is turned into UNKNOWN, which the workload treats
 *   as "may or may not have happened" instead of "nothing changed";
 * - a history line per call.
 */
import { status as Status } from '@grpc/grpc-js';
import { pageChecksum } from '../../services/common/checksum';
import { VswapClient, type Tier, type VswapClientOptions } from '../sdk/client';
import { VswapClientError } from '../sdk/errors';
import type { History } from './history';

/** grpc-js details that mean the connection failed after the request was sent. */
const IN_FLIGHT_FAILURE = /Connection dropped|ECONNRESET|EPIPE|Write error|Write failed|Call ended without|Stream removed/i;

export class RecordingClient extends VswapClient {
  /** owner -> slot -> CRC-32 of the page the cluster acknowledged storing there. */
  readonly oracle = new Map<string, Map<number, number>>();
  /** Mutations whose outcome is unknown (connection lost in flight), by method. */
  readonly ambiguous: Record<string, number> = {};

  constructor(
    options: VswapClientOptions,
    private readonly history?: History,
  ) {
    super(options);
  }

  expected(owner: string, slot: number): number | undefined {
    return this.oracle.get(owner)?.get(slot);
  }

  override async swapOut(owner: string, pages: Buffer[], options: { contiguous?: boolean } = {}): Promise<{ slots: number[]; tiers: Tier[] }> {
    try {
      const res = await super.swapOut(owner, pages, options);
      this.remember(owner, res.slots, pages);
      this.op(`swapOut ${owner} ${pages.length}p -> ${span(res.slots)}`);
      return res;
    } catch (err) {
      throw this.failed('swapOut', owner, pages.length, err, true);
    }
  }

  override async store(owner: string, slots: number[], pages: Buffer[]): Promise<Tier[]> {
    try {
      const tiers = await super.store(owner, slots, pages);
      this.remember(owner, slots, pages);
      this.op(`store ${owner} ${span(slots)}`);
      return tiers;
    } catch (err) {
      throw this.failed('store', owner, slots.length, err, true);
    }
  }

  override async load(owner: string, slots: number[], options: { release?: boolean } = {}): Promise<Buffer[]> {
    const release = options.release ?? false;
    try {
      const pages = await super.load(owner, slots, options);
      this.op(`load${release ? '+release' : ''} ${owner} ${span(slots)}`);
      return pages;
    } catch (err) {
      throw this.failed(release ? 'load+release' : 'load', owner, slots.length, err, release);
    }
  }

  override async duplicate(owner: string, slots: number[]): Promise<number[]> {
    try {
      const counts = await super.duplicate(owner, slots);
      this.op(`duplicate ${owner} ${span(slots)}`);
      return counts;
    } catch (err) {
      throw this.failed('duplicate', owner, slots.length, err, true);
    }
  }

  override async free(owner: string, slots: number[]): Promise<number[]> {
    try {
      const counts = await super.free(owner, slots);
      this.op(`free ${owner} ${span(slots)}`);
      return counts;
    } catch (err) {
      throw this.failed('free', owner, slots.length, err, true);
    }
  }

  private remember(owner: string, slots: readonly number[], pages: readonly Buffer[]): void {
    let m = this.oracle.get(owner);
    if (!m) this.oracle.set(owner, (m = new Map()));
    for (let i = 0; i < slots.length; i++) m.set(slots[i]!, pageChecksum(pages[i]!));
  }

  private failed(method: string, owner: string, n: number, err: unknown, mutation: boolean): VswapClientError {
    let e = VswapClientError.from(err);
    if (mutation && e.code === Status.UNAVAILABLE && IN_FLIGHT_FAILURE.test(e.message)) {
      this.ambiguous[method] = (this.ambiguous[method] ?? 0) + 1;
      e = new VswapClientError(Status.UNKNOWN, `outcome unknown, the connection failed with the request in flight: ${e.message}`, e.slots);
    }
    this.op(`${method} ${owner} ${n} -> ${e.codeName}: ${e.message.slice(0, 160)}`);
    return e;
  }

  private op(text: string): void {
    this.history?.add('op', text);
  }
}

/** "12..75 (64)" or "3,9 (2)": a short description of a slot list. */
function span(slots: readonly number[]): string {
  if (slots.length === 0) return '[]';
  if (slots.length <= 3) return `[${slots.join(',')}]`;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of slots) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return `[${lo}..${hi}] (${slots.length})`;
}
