/**
 * What a coordinator is started with, and every default in one place:
 * `addDefaults()` fills what a caller left out, so the parts are wired with
 * settled values (coordinator-parts.ts) and no part's own fallback decides.
 * The command line's flags and variables are config.ts; main.ts maps them here.
 */
import type { Logger } from '../common/logger';
import { type BackendSpec, connectGrpc } from './backend-registry';
import type { ConnectBackend } from './backend-view';
import type { FsyncPolicy } from './journal';

export interface CoordinatorOptions {
  /** Journal, snapshot and policies live here. */
  dataDir: string;
  backends: BackendSpec[];
  /** Default `batch`. */
  journalFsync?: FsyncPolicy;
  /** Deadline of each backend call; default 5000 ms. */
  backendDeadlineMs?: number;
  /** Pages per writeback or swapoff batch; default 64. */
  writebackBatch?: number;
  /** Backend Info polling period; default 500 ms. */
  pollMs?: number;
  /** Wait before a backend Delete that failed (backend down) is sent again; default 1000 ms. */
  deleteRetryMs?: number;
  /** Journal size that triggers a snapshot; default 64 MiB. */
  snapshotAfterBytes?: number;
  /**
   * Which replayed answer records (request-log payloads) the start-up
   * snapshot carries: those the request log lacks (RequestLog.lacks); default all.
   */
  keepReplayedAnswer?: (payload: Buffer) => boolean;
  /** Makes each backend's calls; default a gRPC client to its address (tests inject in-process fakes). */
  connect?: ConnectBackend;
  log: Logger;
}

/** Options with every default filled in: what the parts are built from. */
export type CoordinatorSettings = Required<CoordinatorOptions>;

export function addDefaults(options: CoordinatorOptions): CoordinatorSettings {
  return {
    ...options,
    journalFsync: options.journalFsync ?? 'batch',
    backendDeadlineMs: options.backendDeadlineMs ?? 5000,
    writebackBatch: options.writebackBatch ?? 64,
    pollMs: options.pollMs ?? 500,
    deleteRetryMs: options.deleteRetryMs ?? 1000,
    snapshotAfterBytes: options.snapshotAfterBytes ?? 64 * 1024 * 1024,
    keepReplayedAnswer: options.keepReplayedAnswer ?? (() => true),
    connect: options.connect ?? connectGrpc,
  };
}
