/**
 * Every DATA_LOSS the workload or the checker saw must be explained by a
 * store that was allowed to lose it: zswap (a memory store, volatile by
 * design) once the run restarted it, or a Redis the run restarted without
 * persistence. The
 * coordinator's reconciles say how many pages each store lost; a page that
 * reads DATA_LOSS beyond those, or because it failed its checksum (a
 * backend handed back other bytes: never a legitimate loss), is an
 * unexplained loss and fails the run.
 */

export interface LossExplanation {
  /** Distinct pages that read back DATA_LOSS. */
  seen: number;
  /** Of those, covered by pages a volatile store reported losing. */
  explained: number;
  /** Pages lost without a store loss that allows it (must be 0). */
  unexplained: number;
  /** Up to 20 lines naming unexplained losses. */
  problems: string[];
}

/** A DATA_LOSS of a slot reconcile marked lost: explained by a volatile store's reported loss (counted). */
const MARKED_LOST = /lost its data/i;
/** A read that found the page gone from a named backend before reconcile did: explained when that store is volatile. */
const GONE_FROM = /backend (\S+?):? (?:no longer has a page|handle \d+ is allocated but its page is missing)/i;

export class LossLedger {
  /** `owner\0slot\0crc` (one page incarnation) -> the message it read with. */
  private readonly seenLosses = new Map<string, string>();

  /** A read of `key` (expected value `crc`) answered DATA_LOSS with `message`. */
  seen(key: string, crc: number | undefined, message: string): void {
    const id = `${key}\0${crc ?? '?'}`;
    if (!this.seenLosses.has(id)) this.seenLosses.set(id, message);
  }

  get count(): number {
    return this.seenLosses.size;
  }

  /**
   * Compares the losses seen with what stores reported losing.
   * `lostByStore`: pages per store from the coordinator's reconciles;
   * `volatile`: the stores allowed to lose pages in this run.
   */
  explain(lostByStore: Record<string, number>, volatile: ReadonlySet<string>): LossExplanation {
    let budget = 0;
    for (const [store, n] of Object.entries(lostByStore)) if (volatile.has(store)) budget += n;
    const problems: string[] = [];
    let explained = 0;
    let unexplained = 0;
    for (const [id, message] of this.seenLosses) {
      const [owner, slot] = id.split('\0');
      const gone = GONE_FROM.exec(message);
      if (gone && volatile.has(gone[1]!)) {
        explained++;
        continue;
      }
      if (MARKED_LOST.test(message) && budget > 0) {
        budget--;
        explained++;
        continue;
      }
      unexplained++;
      if (problems.length < 20) {
        const why = gone
          ? `${gone[1]} may not lose pages in this run (volatile: ${[...volatile].join(', ') || 'none'})`
          : MARKED_LOST.test(message)
            ? `no volatile store (${[...volatile].join(', ') || 'none'}) reported losing it`
            : 'not a store loss';
        problems.push(`UNEXPLAINED DATA_LOSS ${owner} slot ${slot}: ${why}: ${message}`);
      }
    }
    return { seen: this.seenLosses.size, explained, unexplained, problems };
  }
}
