// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteResponse {
  'deleted'?: (number);
  'missing'?: (number | string | Long)[];
}

export interface DeleteResponse__Output {
  'deleted': (number);
  'missing': (number)[];
}
