/**
 * fdatasyncs under way, by file descriptor, so that a descriptor whose file
 * was replaced (a journal generation switch, a rewritten requests.log) is
 * closed only once no sync runs on it: closed under one, its number could be
 * reused by the next open, and the sync would fail (EBADF) or sync another
 * file.
 *
 * A retired descriptor is closed on the thread pool, never on the event
 * loop: its file has just been renamed over or unlinked, so the last close
 * is what frees the file's blocks, and for a requests.log of 100,000 answers
 * (35 MB) that took about 50 ms, during which every call waited
 * (bench:request-log's slowest pair: 85 ms with closeSync, 34 ms without).
 */
import * as fs from 'node:fs';

export class DescriptorSyncs {
  /** Syncs running per descriptor; a descriptor is here only while its count is above 0. */
  private readonly running = new Map<number, number>();
  /** Retired descriptors with a sync still running: closed when their last one ends. */
  private readonly retiring = new Set<number>();

  /** fdatasync on the thread pool; `done` runs after the descriptor may have been closed (if it was retired). */
  fdatasync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void {
    this.running.set(fd, (this.running.get(fd) ?? 0) + 1);
    fs.fdatasync(fd, (err) => {
      const left = this.running.get(fd)! - 1;
      if (left > 0) this.running.set(fd, left);
      else {
        this.running.delete(fd);
        if (this.retiring.delete(fd)) closeInBackground(fd);
      }
      done(err);
    });
  }

  /** Closes `fd` (on the thread pool) now, or when the syncs running on it end. Not to be used after. */
  retire(fd: number): void {
    if (this.running.has(fd)) this.retiring.add(fd);
    else closeInBackground(fd);
  }
}

/**
 * Closes a descriptor on the thread pool. A close that fails leaves nothing
 * to do: the descriptor is gone either way, and nothing is written through it.
 */
export function closeInBackground(fd: number): void {
  fs.close(fd, () => undefined);
}
