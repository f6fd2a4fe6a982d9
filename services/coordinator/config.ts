import { LOG_LEVELS, address, int, oneOf, optional, str } from '../common/config';
import { heapGrowthOption } from '../common/heap-growth';
import { listenerSecurityOptions } from '../common/auth/listener';
import { metricsListenOption } from '../common/metrics';
import { parseBackendSpecs } from './backend-registry';
import { FSYNC_POLICIES } from '../common/fsync-policy';

/** The coordinator's options (flags, or VSWAP_COORDINATOR_* variables). */
export const coordinatorOptions = {
  listen: address('address to serve vswap.v1.VirtualSwap on (port 0 picks one)', '127.0.0.1:50051'),
  dataDir: str(
    'directory for the journal, snapshot, owner policies, requests.log and answers.ring',
    '.vswap/coordinator',
  ),
  backends: str(
    'backends as name=host:port[@priority], comma-separated; kind and store come from each backend',
    '',
    (v) => {
      try {
        parseBackendSpecs(v);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  ),
  journalFsync: oneOf(
    'journal fsync policy: always (every group commit), batch (every 100 ms), never',
    FSYNC_POLICIES,
    'batch',
  ),
  backendDeadlineMs: int('deadline of each backend call, in ms', 5000, { min: 50, max: 600_000 }),
  writebackBatch: int('pages per writeback or swapoff batch', 64, { min: 1, max: 512 }),
  pollMs: int('how often backends are asked for Info, in ms', 500, { min: 20, max: 60_000 }),
  crashAfterCommitId: optional(
    str(
      'crash test seam: the coordinator kills itself (SIGKILL) right after the journal commit of the call with this request_id, before its answer reaches requests.log',
    ),
  ),
  deleteRetryMs: int('wait before a backend Delete that failed (backend down) is sent again, in ms', 1000, {
    min: 10,
    max: 600_000,
  }),
  snapshotAfterBytes: int('journal size after which a snapshot is written, in bytes', 64 * 1024 * 1024, { min: 4096 }),
  retryWindowMs: int(
    'how long the answer to a mutating call with a request_id is remembered for its retries, in ms',
    600_000,
    { min: 1000, max: 86_400_000 },
  ),
  retryMaxEntries: int('most answers remembered for retries at once (the oldest go first)', 100_000, {
    min: 1,
    max: 10_000_000,
  }),
  retryMaxSlots: int(
    'most slot ids and counts held by the answers remembered for retries (about 8 bytes each)',
    4_000_000,
    { min: 512, max: 100_000_000 },
  ),
  retryMaxPageBytes: int(
    'bytes of answers.ring in the data directory: the ring holding the pages of the answers remembered for ' +
      'retries (a Load with release is answered with its pages); an answer whose pages it wrote over is forgotten',
    16 * 1024 * 1024,
    { min: 4096, max: 64 * 1024 * 1024 * 1024 },
  ),
  retryCompactAfterBytes: int(
    'requests.log is rewritten with the answers it still holds once it is twice their size and at least this many ' +
      'bytes (a slice per turn, while calls go on)',
    16 * 1024 * 1024,
    { min: 4096, max: 64 * 1024 * 1024 * 1024 },
  ),
  stopWritebackMs: int(
    "on SIGTERM, first write zswap's pages back to a durable swapfile for " +
      "up to this many ms (0 = off: a volatile zswap's pages are lost when " +
      'it stops)',
    0,
    { min: 0, max: 3_600_000 },
  ),
  metricsListen: metricsListenOption(),
  metricsMaxOwners: int(
    'owners with their own metrics series (those holding the most slots; the rest are summed as owner="(other)")',
    20,
    { min: 0, max: 10_000 },
  ),
  logLevel: oneOf('log level on stderr (falls back to VSWAP_LOG_LEVEL)', LOG_LEVELS, 'info'),
  heapGrowthPercent: heapGrowthOption(),
  principals: optional(
    str(
      'principals file (YAML or JSON; README, Security): who may call, as ' +
        'which owners; re-read on SIGHUP and on change. None: protected mode ' +
        '(loopback only, no authentication)',
    ),
  ),
  ...listenerSecurityOptions(),
  clusterTokenFile: optional(str('file holding the cluster secret, presented to the backends as a bearer token')),
  backendCa: optional(
    str("PEM CA certificates the backends' TLS certificates are checked against (TLS to the backends)"),
  ),
  backendClientCert: optional(str('PEM client certificate presented to the backends (mutual TLS; with --backend-ca)')),
  backendClientKey: optional(str('PEM private key of --backend-client-cert')),
};
