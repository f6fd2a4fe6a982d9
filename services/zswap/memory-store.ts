import { randomBytes } from 'node:crypto';
import type { CommitResult, EpochCheck, ObjectStore, RecoveredEntry } from './object-store';
import { ZsPool, type PoolOptions } from './pool';

/** Objects in this process's slab pool: fast and volatile. */
export class MemoryObjectStore implements ObjectStore {
  readonly kind = 'memory' as const;
  readonly volatile = true;
  /** New at every process start: whatever the coordinator held before is gone. */
  private readonly epoch = randomBytes(8).toString('hex');
  readonly pool: ZsPool;

  constructor(options: PoolOptions = {}) {
    this.pool = new ZsPool(options);
  }

  heldBytes(): number {
    return this.pool.heldBytes;
  }
  objectBytes(): number {
    return this.pool.objectBytes;
  }
  growthFor(length: number): number {
    return this.pool.growthFor(length);
  }
  add(_handle: number, data: Uint8Array): number {
    return this.pool.store(data);
  }
  commit(): CommitResult {
    return 'ok';
  }
  read(_handles: readonly number[], locations: readonly number[], lengths: readonly number[]): Uint8Array[] {
    const out: Uint8Array[] = new Array<Uint8Array>(locations.length);
    for (let i = 0; i < locations.length; i++) out[i] = this.pool.view(locations[i]!, lengths[i]!);
    return out;
  }
  remove(_handles: readonly number[], locations: readonly number[], lengths: readonly number[]): void {
    for (let i = 0; i < locations.length; i++) this.pool.free(locations[i]!, lengths[i]!);
  }
  checkEpoch(): EpochCheck {
    return { epoch: this.epoch, changed: false };
  }
  recover(): RecoveredEntry[] {
    return [];
  }
  onReconnect(): void {}
  close(): Promise<void> {
    this.pool.clear();
    return Promise.resolve();
  }
}
