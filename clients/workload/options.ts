/** What a workload run simulates, with documented defaults. */
import { MAX_BATCH } from '../../services/common/limits';
import { ACCESS_PATTERNS, type AccessPatternKind } from './access-pattern';
import type { PageMix } from './page-generator';

export interface WorkloadProgress {
  elapsedMs: number;
  /** 0..1 of the duration or operation budget. */
  fraction: number;
  steps: number;
  pagesOut: number;
  pagesIn: number;
  errors: number;
  corruptions: number;
  liveProcesses: number;
}

export interface WorkloadOptions {
  /** Simulated processes alive at the start (and the floor kept by replacing exited ones); default 4. */
  processes?: number;
  /** Most processes alive at once (forks stop there); default 2 x processes. */
  maxProcesses?: number;
  /** Pages of each process's address space; default 1024 (4 MiB). */
  pagesPerProcess?: number;
  /** Pages each process may keep resident before it swaps out (its memory limit); default 256. */
  memoryLimitPages?: number;
  /** Which pages a process touches; default 'zipfian'. */
  pattern?: AccessPatternKind;
  /** Exponent of the zipfian pattern; default 0.99. */
  zipfExponent?: number;
  /** Stop after this long, in ms; default 10000 unless `operations` is set. */
  durationMs?: number;
  /** Stop after this many process steps (a step: a burst of accesses, a fork or an exit). */
  operations?: number;
  /** Page accesses per step (faults of one step are loaded in one call); default 32. */
  accessesPerStep?: number;
  /** Most pages per SwapOut / Load call; default 64, at most 512. */
  batchPages?: number;
  /** Probability that a step is a fork; default 0.01. */
  forkRate?: number;
  /** Probability that a step is an exit; default 0.01. */
  exitRate?: number;
  /** Seed of every choice and every page's contents; default 1. */
  seed?: number;
  /** Process steps (so requests) in flight at once; default 4. */
  concurrency?: number;
  /**
   * 'per-process': each started process has its own owner (children inherit it); 'shared': one owner. Default
   * 'per-process'.
   */
  owners?: 'per-process' | 'shared';
  /** Owner names are `${ownerPrefix}-${pid}` (per-process) or `ownerPrefix` (shared); default 'workload'. */
  ownerPrefix?: string;
  /** Fractions of zero and random pages; default 0.2 each, the rest text-like. */
  pageMix?: PageMix;
  /** Corruptions and lost pages listed in full in the report (all are counted); default 100. */
  maxDetails?: number;
  /** Called every progressIntervalMs while running. */
  onProgress?: (p: WorkloadProgress) => void;
  /** Default 250. */
  progressIntervalMs?: number;
}

export type ResolvedWorkloadOptions = Required<
  Omit<WorkloadOptions, 'operations' | 'onProgress' | 'pageMix' | 'durationMs'>
> & {
  operations: number | undefined;
  durationMs: number | undefined;
  onProgress: ((p: WorkloadProgress) => void) | undefined;
  pageMix: PageMix;
};

function positiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

function rate(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
  return v;
}

/** Fills defaults and checks ranges; throws RangeError naming the bad option. */
export function resolveWorkloadOptions(o: WorkloadOptions): ResolvedWorkloadOptions {
  const processes = positiveInt('processes', o.processes ?? 4);
  const pagesPerProcess = positiveInt('pagesPerProcess', o.pagesPerProcess ?? 1024, 1 << 24);
  const pattern = o.pattern ?? 'zipfian';
  if (!ACCESS_PATTERNS.includes(pattern))
    throw new RangeError(`pattern must be one of ${ACCESS_PATTERNS.join(', ')}, got ${String(pattern)}`);
  const forkRate = rate('forkRate', o.forkRate ?? 0.01);
  const exitRate = rate('exitRate', o.exitRate ?? 0.01);
  if (forkRate + exitRate > 1) throw new RangeError('forkRate + exitRate must be at most 1');
  const operations = o.operations === undefined ? undefined : positiveInt('operations', o.operations);
  const durationMs =
    o.durationMs === undefined
      ? operations === undefined
        ? 10_000
        : undefined
      : positiveInt('durationMs', o.durationMs);
  const owners = o.owners ?? 'per-process';
  if (owners !== 'per-process' && owners !== 'shared')
    throw new RangeError(`owners must be per-process or shared, got ${String(owners)}`);
  return {
    processes,
    maxProcesses: positiveInt('maxProcesses', o.maxProcesses ?? processes * 2),
    pagesPerProcess,
    memoryLimitPages: positiveInt('memoryLimitPages', o.memoryLimitPages ?? Math.min(256, pagesPerProcess)),
    pattern,
    zipfExponent: o.zipfExponent ?? 0.99,
    durationMs,
    operations,
    accessesPerStep: positiveInt('accessesPerStep', o.accessesPerStep ?? 32, 4096),
    batchPages: positiveInt('batchPages', o.batchPages ?? 64, MAX_BATCH),
    forkRate,
    exitRate,
    seed: (o.seed ?? 1) >>> 0,
    concurrency: positiveInt('concurrency', o.concurrency ?? 4, 1024),
    owners,
    ownerPrefix: o.ownerPrefix ?? 'workload',
    pageMix: o.pageMix ?? {},
    maxDetails: o.maxDetails ?? 100,
    onProgress: o.onProgress,
    progressIntervalMs: positiveInt('progressIntervalMs', o.progressIntervalMs ?? 250),
  };
}
