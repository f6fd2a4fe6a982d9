// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface ReconcileRequest {
  'handles'?: (number | string | Long)[];
  'last'?: (boolean);
}

export interface ReconcileRequest__Output {
  'handles': (number)[];
  'last': (boolean);
}
