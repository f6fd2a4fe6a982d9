import { PAGE_SIZE } from './limits';

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** True when every byte of the page is zero (no backend I/O for such a page). */
export function isZeroPage(page: Buffer): boolean {
  return page.length === PAGE_SIZE && page.equals(ZERO_PAGE);
}
