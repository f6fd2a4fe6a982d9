// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface DuplicateRequest {
  'owner'?: (string);
  'slots'?: (number | string | Long)[];
  'requestId'?: (string);
}

export interface DuplicateRequest__Output {
  'owner': (string);
  'slots': (number)[];
  'requestId': (string);
}
