/**
 * Start-up: opens the journal and replays it into the slot table. Journal ids
 * of owners and backends are those of the process that wrote the records;
 * replay maps them to names, and backend names to this process's registry ids
 * (a backend no longer configured leaves its slots TIER_LOST).
 */
import { Journal, type JournalOptions } from './journal';
import { type JournalRecord, RecordType } from './journal-records';
import { type Backing, type SlotTable, TierCode } from './slot-table';

export interface Replayed {
  journal: Journal;
  /** Slots whose backend is no longer configured: their pages are lost. */
  lostToMissingBackend: number;
  /** Answer records (request-log payloads), oldest first, for the request log. */
  answers: Buffer[];
}

/** Opens the journal in `options.dir`, restoring every slot it records into `table`. */
export function replayJournal(
  options: JournalOptions,
  table: SlotTable,
  backendIdOf: (name: string) => number | undefined,
): Replayed {
  const owners = new Map<number, string>();
  const backends = new Map<number, number>(); // journal id -> registry id (0: gone)
  let lostToMissingBackend = 0;
  const answers: Buffer[] = [];
  const apply = (r: JournalRecord): void => {
    switch (r.type) {
      case RecordType.Owner:
        owners.set(r.id, r.name);
        break;
      case RecordType.Backend:
        backends.set(r.id, backendIdOf(r.name) ?? 0);
        break;
      case RecordType.Release:
        table.releaseSlot(r.slot);
        break;
      case RecordType.Answer:
        answers.push(r.payload);
        break;
      case RecordType.Set: {
        const owner = owners.get(r.ownerId);
        if (owner === undefined) throw new Error(`journal: slot ${r.slot} names unknown owner id ${r.ownerId}`);
        let backing: Backing = { tier: r.tier, backend: 0, handle: r.handle, checksum: r.checksum };
        if (r.tier === TierCode.ZSWAP || r.tier === TierCode.SWAPFILE) {
          const id = backends.get(r.backendId) ?? 0;
          if (id === 0) {
            backing = { tier: TierCode.LOST, backend: 0, handle: 0, checksum: r.checksum };
            lostToMissingBackend++;
          } else backing.backend = id;
        }
        table.restoreSlot(r.slot, owner, r.order, r.count, backing);
        break;
      }
    }
  };
  const journal = Journal.open(options, apply);
  return { journal, lostToMissingBackend, answers };
}
