// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface LoadRequest {
  'owner'?: (string);
  'slots'?: (number | string | Long)[];
  'release'?: (boolean);
  'requestId'?: (string);
}

export interface LoadRequest__Output {
  'owner': (string);
  'slots': (number)[];
  'release': (boolean);
  'requestId': (string);
}
