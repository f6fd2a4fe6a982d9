/**
 * The history of a fault run: timestamped lines of faults (every one kept)
 * and client operations (the last `maxOperations` kept, the window that
 * matters when a check fails), printed in time order on failure.
 */
export type HistoryKind = 'op' | 'fault' | 'check' | 'info';

export interface HistoryEntry {
  /** ms since the run started. */
  t: number;
  kind: HistoryKind;
  text: string;
}

export class History {
  private readonly start = Date.now();
  private readonly kept: HistoryEntry[] = [];
  private readonly ops: HistoryEntry[] = [];
  private opsAt = 0;
  /** Operation lines seen in all (the ring keeps the last maxOperations). */
  operationLines = 0;

  constructor(private readonly maxOperations = 3000) {}

  now(): number {
    return Date.now() - this.start;
  }

  add(kind: HistoryKind, text: string): void {
    const e = { t: this.now(), kind, text };
    if (kind !== 'op') {
      this.kept.push(e);
      return;
    }
    this.operationLines++;
    if (this.ops.length < this.maxOperations) this.ops.push(e);
    else this.ops[this.opsAt] = e;
    this.opsAt = (this.opsAt + 1) % this.maxOperations;
  }

  fault(text: string): void {
    this.add('fault', text);
  }

  entries(): HistoryEntry[] {
    return [...this.kept, ...this.ops].sort((a, b) => a.t - b.t);
  }

  /** Faults and checks only (short enough for a summary). */
  faultLines(): string[] {
    return this.kept.map(format);
  }

  toString(): string {
    const dropped = this.operationLines - this.ops.length;
    const head = dropped > 0 ? [`(${dropped} earlier operation lines not kept)`] : [];
    return [...head, ...this.entries().map(format)].join('\n');
  }
}

export function format(e: HistoryEntry): string {
  return `${(e.t / 1000).toFixed(3).padStart(8)}s ${e.kind.padEnd(5)} ${e.text}`;
}
