// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface InfoResponse {
  'kind'?: (string);
  'store'?: (string);
  'capacityPages'?: (number | string | Long);
  'usedPages'?: (number | string | Long);
  'storedBytes'?: (number | string | Long);
  'epoch'?: (string);
  'overThreshold'?: (boolean);
  'poolLimitBytes'?: (number | string | Long);
  'acceptThresholdPercent'?: (number);
  'maxBatch'?: (number);
  'volatile'?: (boolean);
  'compressor'?: (string);
}

export interface InfoResponse__Output {
  'kind': (string);
  'store': (string);
  'capacityPages': (number);
  'usedPages': (number);
  'storedBytes': (number);
  'epoch': (string);
  'overThreshold': (boolean);
  'poolLimitBytes': (number);
  'acceptThresholdPercent': (number);
  'maxBatch': (number);
  'volatile': (boolean);
  'compressor': (string);
}
