/**
 * A backend for memory benchmarks of the coordinator: it takes pages through
 * the coordinator's `connect` seam and keeps none of them (only a count), so
 * that the heap of the process measured is the coordinator's alone, as it is
 * when the backends run in their own processes. Not for reading back.
 */
import type { BackendStatsResponse__Output } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestResponse__Output } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { DeleteResponse__Output } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { InfoResponse__Output } from '../../proto/generated/vswap/v1/InfoResponse';
import type { PutOutcome__Output } from '../../proto/generated/vswap/v1/PutOutcome';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import type { ReconcileResult } from '../../services/common/backend-client';
import type { BackendCalls, BackendKind } from '../../services/coordinator/backend-view';

const EPOCH = 'sink-1';

export class SinkBackend implements BackendCalls {
  /** Pages it says it holds. */
  used = 0;
  private nextHandle = 1;

  /** Past `capacityPages` it answers PUT_NO_SPACE, so the coordinator places the rest on the next tier. */
  constructor(
    readonly kind: BackendKind,
    readonly capacityPages: number,
  ) {}

  put(pages: Buffer[]): Promise<PutResponse__Output> {
    const handles: number[] = [];
    const outcomes: PutOutcome__Output[] = [];
    for (let i = 0; i < pages.length; i++) {
      if (this.used >= this.capacityPages) {
        handles.push(0);
        outcomes.push('PUT_NO_SPACE');
      } else {
        this.used++;
        handles.push(this.nextHandle++);
        outcomes.push('PUT_STORED');
      }
    }
    return Promise.resolve({ handles, outcomes, storedSizes: pages.map(() => 4096), epoch: EPOCH });
  }

  get(): Promise<GetResponse__Output> {
    return Promise.reject(new Error('sink backend: keeps no pages to read'));
  }

  delete(handles: number[]): Promise<DeleteResponse__Output> {
    this.used = Math.max(0, this.used - handles.length);
    return Promise.resolve({ deleted: handles.length, missing: [] });
  }

  info(): Promise<InfoResponse__Output> {
    return Promise.resolve({
      kind: this.kind,
      store: 'sink',
      capacityPages: this.capacityPages,
      usedPages: this.used,
      storedBytes: this.used * 4096,
      epoch: EPOCH,
      overThreshold: false,
      poolLimitBytes: this.kind === 'zswap' ? this.capacityPages * 4096 : 0,
      acceptThresholdPercent: this.kind === 'zswap' ? 100 : 0,
      maxBatch: 512,
      volatile: true,
      compressor: '',
    });
  }

  stats(): Promise<BackendStatsResponse__Output> {
    return Promise.resolve({ counters: [], fragmentation: 0 });
  }

  coldest(): Promise<ColdestResponse__Output> {
    return Promise.resolve({ entries: [] });
  }

  reconcile(): Promise<ReconcileResult> {
    return Promise.resolve({ missing: [], deleted: 0, epoch: EPOCH });
  }

  close(): void {}
}
