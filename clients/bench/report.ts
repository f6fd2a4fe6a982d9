/**
 * What every benchmark prints: a readable table for people, and with --json
 * exactly one JSON object on stdout for scripts. Progress and logs go to
 * stderr (progress()), so stdout stays parseable.
 */

export type Cell = string | number;

export interface TableOptions {
  /** Column titles. */
  headers: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Per column: 'left' or 'right'; default numbers right, text left. */
  align?: readonly ('left' | 'right')[];
  /** Printed above the table. */
  title?: string;
}

/** A plain-text table with aligned columns (no colours, copy-pastes into reports). */
export function renderTable(options: TableOptions): string {
  const { headers, rows } = options;
  const text = rows.map((r) => headers.map((_, c) => cellText(r[c])));
  const widths = headers.map((h, c) => Math.max(h.length, ...text.map((r) => r[c]!.length)));
  const alignOf = (c: number): 'left' | 'right' =>
    options.align?.[c] ??
    (rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || r[c] === undefined) ? 'right' : 'left');
  const line = (cells: readonly string[]): string =>
    cells
      .map((s, c) => (alignOf(c) === 'right' ? s.padStart(widths[c]!) : s.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (options.title) out.push(options.title);
  out.push(line(headers), line(widths.map((w) => '-'.repeat(w))));
  for (const r of text) out.push(line(r));
  return out.join('\n') + '\n';
}

function cellText(v: Cell | undefined): string {
  if (v === undefined) return '';
  return typeof v === 'number' ? formatNumber(v) : v;
}

/** Readable numbers: thousands separators for big ones, 2-3 significant decimals for small ones. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds a figure for the JSON report (ratios to 3 decimals, rates to whole numbers). */
export function round(v: number, decimals = 0): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/** One line of progress on stderr. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Prints the result: with json, exactly one JSON object on stdout and
 * nothing else; otherwise the human-readable text.
 */
export function emitReport(options: { json: boolean; text: string; figures: Record<string, unknown> }): void {
  if (options.json) process.stdout.write(JSON.stringify(options.figures) + '\n');
  else process.stdout.write(options.text);
}
