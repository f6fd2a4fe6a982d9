import { invalidArgument } from './errors';
import { MAX_BATCH, PAGE_SIZE } from './limits';

/** A request-wide check of a batch's size (1..MAX_BATCH). */
export function checkBatchSize(n: number, what: string): void {
  if (n === 0) throw invalidArgument(`no ${what} given: a batch holds 1 to ${MAX_BATCH}`);
  if (n > MAX_BATCH) throw invalidArgument(`${n} ${what} in one request: at most ${MAX_BATCH}`);
}

/** Every page is exactly PAGE_SIZE bytes. */
export function checkPages(pages: readonly Buffer[]): void {
  checkBatchSize(pages.length, 'pages');
  for (let i = 0; i < pages.length; i++) {
    const len = pages[i]?.length ?? 0;
    if (len !== PAGE_SIZE) throw invalidArgument(`page ${i} is ${len} bytes: pages are exactly ${PAGE_SIZE} bytes`);
  }
}

/** No id twice in one batch (slots or handles). */
export function checkDistinct(ids: readonly number[], what: string): void {
  if (ids.length < 2) return;
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) throw invalidArgument(`${what} ${id} appears twice in one request`);
    seen.add(id);
  }
}
