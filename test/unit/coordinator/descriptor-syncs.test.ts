/**
 * DescriptorSyncs (descriptor-syncs.ts): a retired descriptor is closed, off
 * the event loop, and never under an fdatasync still running on it (closed
 * under one, the sync would fail with EBADF or, the number reused, sync
 * another file). On real files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DescriptorSyncs } from '../../../services/coordinator/descriptor-syncs';

/** Whether `fd` is an open descriptor of this process. */
function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBADF') return false;
    throw err;
  }
}

describe('DescriptorSyncs', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-descriptor-syncs-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A file with some bytes not yet synced, open for writing. */
  function dirtyFile(name: string): number {
    const fd = fs.openSync(path.join(dir, name), 'w');
    fs.writeSync(fd, Buffer.alloc(256 * 1024, 7));
    return fd;
  }

  it('closes a retired descriptor with no sync on it', async () => {
    const syncs = new DescriptorSyncs();
    const fd = dirtyFile('old.log');
    // As a rewrite does: the file is replaced, then its descriptor retired.
    fs.renameSync(path.join(dir, 'old.log'), path.join(dir, 'gone.log'));
    fs.unlinkSync(path.join(dir, 'gone.log'));
    syncs.retire(fd);
    await vi.waitFor(() => expect(isOpen(fd)).toBe(false), { timeout: 5000, interval: 5 });
  });

  it('closes a descriptor retired under a running fdatasync only after the sync, which succeeds', async () => {
    const syncs = new DescriptorSyncs();
    const fd = dirtyFile('journal.log');
    const synced = new Promise<NodeJS.ErrnoException | null>((resolve) => syncs.fdatasync(fd, resolve));
    syncs.retire(fd);
    // Closed under the sync, the sync would fail with EBADF.
    expect(await synced).toBeNull();
    await vi.waitFor(() => expect(isOpen(fd)).toBe(false), { timeout: 5000, interval: 5 });
  });

  it('waits for every sync on a descriptor before closing it', async () => {
    const syncs = new DescriptorSyncs();
    const fd = dirtyFile('requests.log');
    const first = new Promise<NodeJS.ErrnoException | null>((resolve) => syncs.fdatasync(fd, resolve));
    const second = new Promise<NodeJS.ErrnoException | null>((resolve) => syncs.fdatasync(fd, resolve));
    syncs.retire(fd);
    expect(await Promise.all([first, second])).toEqual([null, null]);
    await vi.waitFor(() => expect(isOpen(fd)).toBe(false), { timeout: 5000, interval: 5 });
  });
});
