/**
 * What a backend is to the coordinator: the calls it makes on it
 * (`BackendCalls`, a gRPC client in production, an in-process fake in tests)
 * and what the coordinator knows about it (`BackendView`). The coordinator
 * reaches backends only through these, so tests can pause, fail and release
 * any backend call at an exact point (the `connect` option of the coordinator).
 */
import type { BackendStatsResponse__Output } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestResponse__Output } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { DeleteResponse__Output } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { GetResponse__Output } from '../../proto/generated/vswap/v1/GetResponse';
import type { InfoResponse__Output } from '../../proto/generated/vswap/v1/InfoResponse';
import type { PutResponse__Output } from '../../proto/generated/vswap/v1/PutResponse';
import type { ReconcileResult } from '../common/backend-client';

export type BackendState = 'active' | 'draining' | 'off';
export type BackendKind = 'zswap' | 'swapfile';

export interface BackendSpec {
  name: string;
  address: string;
  /** Higher is used first; equal priorities round-robin (swapon -p). */
  priority: number;
}

export interface PutOptions {
  /** One opaque tag per page (the slot id), kept with the entry; Coldest returns it. */
  tags?: readonly number[];
  /** When not empty, the backend stores nothing unless this is its current epoch. */
  epoch?: string;
}

/** The backend calls the coordinator makes; every call is bounded by a deadline. */
export interface BackendCalls {
  put(pages: Buffer[], options?: PutOptions): Promise<PutResponse__Output>;
  /** `epoch` (when not empty): FAILED_PRECONDITION unless it is the backend's current epoch. */
  get(handles: number[], touch?: boolean, epoch?: string): Promise<GetResponse__Output>;
  delete(
    handles: number[],
    reason: DeleteReason,
    ignoreMissing?: boolean,
    epoch?: string,
  ): Promise<DeleteResponse__Output>;
  info(deadlineMs?: number): Promise<InfoResponse__Output>;
  stats(): Promise<BackendStatsResponse__Output>;
  coldest(maxEntries: number): Promise<ColdestResponse__Output>;
  reconcile(live: readonly number[]): Promise<ReconcileResult>;
  close(): void;
}

/** Makes the calls for one configured backend (default: a gRPC client to spec.address). */
export type ConnectBackend = (spec: BackendSpec, options: { deadlineMs: number }) => BackendCalls;

/** A backend as the coordinator sees it: its calls plus the state it keeps about it. */
export interface BackendView {
  /** Id stored in the slot table's backend field (1..250; 0 = none). */
  readonly id: number;
  readonly name: string;
  readonly client: BackendCalls;
  readonly kind: BackendKind | undefined;
  readonly state: BackendState;
  readonly priority: number;
  readonly reachable: boolean;
  /** In service for new stores: active, reachable, and reconciled. */
  readonly writable: boolean;
  /** Last Info; undefined until the backend answered once. */
  readonly info: InfoResponse__Output | undefined;
  /** The epoch the slot table was last reconciled against; undefined while it needs a reconcile. */
  readonly reconciledEpoch: string | undefined;
  /**
   * The epoch the table's handles on it belong to (Gets and Deletes name it;
   * never cleared); undefined until it was first reconciled by this process
   * (then no Get or Delete is sent: an unchecked one could name a page its
   * handle's twin in a later life of the backend).
   */
  readonly knownEpoch: string | undefined;
  /** Registers a write if it takes new stores now (never waits); `endWrite` once its handles are recorded. */
  tryBeginWrite(): boolean;
  endWrite(): void;
  /** Its epoch is not the one reconciled: no stores until the next poll reconciles it. */
  invalidate(): void;
}
