// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface ReconcileResponse {
  'missing'?: (number | string | Long)[];
  'done'?: (boolean);
  'deleted'?: (number | string | Long);
  'epoch'?: (string);
}

export interface ReconcileResponse__Output {
  'missing': (number)[];
  'done': (boolean);
  'deleted': (number);
  'epoch': (string);
}
