// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface GetRequest {
  'handles'?: (number | string | Long)[];
  'touch'?: (boolean);
  'epoch'?: (string);
}

export interface GetRequest__Output {
  'handles': (number)[];
  'touch': (boolean);
  'epoch': (string);
}
