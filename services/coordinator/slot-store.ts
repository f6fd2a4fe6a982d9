/**
 * The only writer of a slot's backing and of the journal: a backing change
 * updates the slot table, tells the read path the old backing is gone, and
 * appends the slot's whole state to the journal, together. Also the journal's
 * bookkeeping: owner and backend names, room reserved before a change, what a
 * snapshot holds, and the group commit a reply waits for.
 */
import type { Logger } from '../common/logger';
import type { BackendRegistry } from './backend-registry';
import type { DeleteQueue } from './delete-queue';
import type { Journal, JournalOptions, JournalStats } from './journal';
import {
  ANSWER_OVERHEAD_BYTES,
  MAX_NAME_RECORD_BYTES,
  RecordType,
  type RecordWriter,
  SET_BYTES,
} from './journal-records';
import { replayJournal } from './journal-replay';
import type { Backing, Released, SlotTable } from './slot-table';
import type { ImageSlotVisitor } from './slot-table-image';
import { TierCode, onBackend } from './tiers';

export interface SlotStoreOptions {
  table: SlotTable;
  registry: BackendRegistry;
  deletes: DeleteQueue;
  /** Where the journal lives and how it syncs; replayed into `table` on construction. */
  journal: JournalOptions;
  log: Logger;
  /** Called after a slot's backing changed (the read path drops shared reads of the old one). */
  onBackingChanged?: (slot: number) => void;
  /** Which replayed answer records the start-up snapshot carries; default all. */
  keepReplayedAnswer?: (payload: Buffer) => boolean;
}

export class SlotStore {
  /** Slots of the replayed journal whose backend is no longer configured (TIER_LOST now). */
  readonly lostAtReplay: number;
  /** Slots a SwapOut allocated whose reply has not been sent (kept out of snapshots). */
  readonly unacked = new Set<number>();
  /** Answer records replayed from the journal (request-log payloads), for the request log; taken once. */
  private replayedAnswers: Buffer[];
  /**
   * Answers a snapshot must carry: those whose records are in the log it
   * retires but not yet in requests.log (set by the request log's owner).
   */
  private answersToKeep: () => Iterable<Buffer> = () => [];
  private readonly table: SlotTable;
  private readonly registry: BackendRegistry;
  private readonly deletes: DeleteQueue;
  private readonly journal: Journal;
  /**
   * Journal ids of the names of owners the table knows. An owner's id is
   * dropped when the table forgets the owner and reused for a later owner:
   * no record written after that names the old owner (a slot's records read
   * its owner from the table), and replay applies a name record to the
   * records after it, so ids stay as few as the owners holding slots.
   */
  private readonly ownerIds = new Map<string, number>();
  /** Journal owner ids dropped, handed out again first. */
  private readonly freeOwnerIds: number[] = [];
  private nextOwnerId = 1;
  private readonly onBackingChanged: (slot: number) => void;

  constructor(options: SlotStoreOptions) {
    this.table = options.table;
    this.registry = options.registry;
    this.deletes = options.deletes;
    this.onBackingChanged = options.onBackingChanged ?? (() => {});
    const { journal, lostToMissingBackend, answers } = replayJournal(
      options.journal,
      this.table,
      (name) => this.registry.get(name)?.id,
    );
    this.journal = journal;
    this.table.onOwnerGone((owner) => this.forgetOwner(owner));
    this.lostAtReplay = lostToMissingBackend;
    // Until the request log takes over (keepAnswers), snapshots carry the replayed answers it lacks.
    const keep = options.keepReplayedAnswer;
    this.replayedAnswers = keep ? answers.filter(keep) : answers;
    this.answersToKeep = () => this.replayedAnswers;
    if (lostToMissingBackend > 0)
      options.log.warn(
        { pages: lostToMissingBackend },
        'journal names backends that are not configured: their pages are lost',
      );
    // Start every log with the names its records use.
    this.writeNames(journal.pending);
    journal.onSnapshot((w) => this.writeImage(w));
    // A snapshot now makes the replayed state (with remapped ids) the base.
    journal.snapshot();
  }

  get stats(): Readonly<JournalStats> {
    return this.journal.stats;
  }

  /**
   * Room in the journal for the records of changing `slots` slots (a SET or
   * RELEASE each, twice at most, and an owner name). Called before the table
   * changes: a full disk is refused with RESOURCE_EXHAUSTED and nothing
   * applied, never a change applied and then answered with an error.
   */
  reserve(slots: number, answerBytes = 0): void {
    this.journal.reserve(
      slots * 2 * SET_BYTES + MAX_NAME_RECORD_BYTES + (answerBytes > 0 ? ANSWER_OVERHEAD_BYTES + answerBytes : 0),
    );
  }

  /** The answer records replayed at start (see RequestLogOptions.replayed); empty after the first call. */
  takeReplayedAnswers(): Buffer[] {
    const a = this.replayedAnswers;
    this.replayedAnswers = [];
    return a;
  }

  /** What a snapshot carries of the request log (answers not yet in requests.log). */
  keepAnswers(source: () => Iterable<Buffer>): void {
    this.answersToKeep = source;
  }

  /** Appends the current state of each slot (count, owner, backing) to the journal. */
  record(slots: readonly number[]): void {
    for (const s of slots) this.writeSlot(this.journal.pending, s);
  }

  /** Gives a slot a new backing, drops reads of the old one, and journals the slot. */
  setBacking(slot: number, backing: Backing): void {
    this.table.setBacking(slot, backing);
    this.onBackingChanged(slot);
    this.writeSlot(this.journal.pending, slot);
  }

  /** The slot's page is gone (its backend lost it, or it failed its checksum): TIER_LOST, checksum kept. */
  markLost(slot: number): void {
    this.setBacking(slot, { tier: TierCode.LOST, backend: 0, handle: 0, checksum: this.table.checksumOf(slot) });
  }

  /** A slot died: its backend copy goes, promptly and in batches, and its release is journaled. */
  release(r: Released | undefined): void {
    if (!r) return;
    if (onBackend(r.tier) && r.backend !== 0) this.deletes.add(r.backend, r.handle, 'DELETE_FREED');
    this.writeSlot(this.journal.pending, r.slot);
  }

  /** Live slots whose page is on backend `backendId` (not LOST). */
  slotsWithDataOn(backendId: number): number[] {
    return this.table
      .slotsOnBackend(backendId)
      .filter((s) => onBackend(this.table.tierOf(s)) && this.table.countOf(s) > 0);
  }

  /**
   * Resolves once every record appended so far is written (and synced per
   * policy). `answer`: the request log's record of this call's answer, in the
   * same commit as the change it answers (after its records).
   */
  commit(answer?: Buffer): Promise<void> {
    if (answer) this.journal.pending.answer(answer);
    return this.journal.commit();
  }

  close(): void {
    this.journal.close();
  }

  /**
   * A journal snapshot's image: the names, every allocated slot but those of
   * a SwapOut not yet answered (a crash must not keep them), and the answers
   * the request log still needs from the journal. All of it is as it is now:
   * the table is copied before the first yield, and the slots are written
   * from the copy a cluster per piece, while the table goes on changing.
   */
  private *writeImage(w: RecordWriter): Generator<void> {
    const image = this.table.capture();
    const unacked = this.unacked.size > 0 ? new Set(this.unacked) : undefined;
    const answers = [...this.answersToKeep()];
    // Journal ids by the table's owner ids, fixed now: ids are reused once an owner is gone.
    const journalIds = new Uint32Array(image.ownerNames.length);
    image.ownerNames.forEach((name, id) => {
      if (name) journalIds[id] = this.ownerId(name, this.journal.pending);
    });
    this.writeNames(w);
    w.ensureRoom(this.table.usedSlots() * SET_BYTES);
    const visit: ImageSlotVisitor = (slot, owner, order, count, tier, backend, handle, checksum) => {
      if (unacked?.has(slot)) return;
      if (count === 0) w.release(slot);
      else w.set(slot, journalIds[owner]!, order, count, tier, backend, handle, checksum);
    };
    for (let k = 0; k < image.clusterCount; k++) {
      image.forEachSlotIn(k, visit);
      yield;
    }
    for (const a of answers) w.answer(a);
  }

  private writeNames(w: RecordWriter): void {
    for (const b of this.registry.all) w.name(RecordType.Backend, b.id, b.name);
    for (const [name, id] of this.ownerIds) w.name(RecordType.Owner, id, name);
  }

  /** Owner names with a journal id now (tests: ids are dropped with their owners). */
  get journalOwnerCount(): number {
    return this.ownerIds.size;
  }

  private forgetOwner(owner: string): void {
    const id = this.ownerIds.get(owner);
    if (id === undefined) return;
    this.ownerIds.delete(owner);
    this.freeOwnerIds.push(id);
  }

  /** The journal id of an owner; a new one is named in `w` before its first use. */
  private ownerId(owner: string, w: RecordWriter): number {
    let id = this.ownerIds.get(owner);
    if (id === undefined) {
      id = this.freeOwnerIds.pop() ?? this.nextOwnerId++;
      this.ownerIds.set(owner, id);
      w.name(RecordType.Owner, id, owner);
    }
    return id;
  }

  private writeSlot(w: RecordWriter, slot: number): void {
    const t = this.table;
    const count = t.countOf(slot);
    const owner = t.ownerOf(slot);
    if (count === 0 || owner === undefined) {
      w.release(slot);
      return;
    }
    w.set(
      slot,
      this.ownerId(owner, w),
      t.orderOf(slot),
      count,
      t.tierOf(slot),
      t.backendOf(slot),
      t.handleOf(slot),
      t.checksumOf(slot),
    );
  }
}
