/** Aligned columns without borders, like swapon --show and free. */
export function textTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const text = rows.map((r) => headers.map((_, c) => String(r[c] ?? '')));
  const widths = headers.map((h, c) => Math.max(h.length, ...text.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((s, c) => (rightAligned.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!)))
      .join(' ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}
