// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface FreeRequest {
  'owner'?: (string);
  'slots'?: (number | string | Long)[];
  'requestId'?: (string);
}

export interface FreeRequest__Output {
  'owner': (string);
  'slots': (number)[];
  'requestId': (string);
}
