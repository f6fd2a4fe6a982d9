// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface JournalStats {
  'commits'?: (number | string | Long);
  'fsyncs'?: (number | string | Long);
  'fsyncMicrosTotal'?: (number | string | Long);
  'fsyncMicrosMax'?: (number | string | Long);
  'snapshots'?: (number | string | Long);
  'snapshotFailures'?: (number | string | Long);
  'reserveFailures'?: (number | string | Long);
  'logBytes'?: (number | string | Long);
  'generation'?: (number | string | Long);
}

export interface JournalStats__Output {
  'commits': (number);
  'fsyncs': (number);
  'fsyncMicrosTotal': (number);
  'fsyncMicrosMax': (number);
  'snapshots': (number);
  'snapshotFailures': (number);
  'reserveFailures': (number);
  'logBytes': (number);
  'generation': (number);
}
