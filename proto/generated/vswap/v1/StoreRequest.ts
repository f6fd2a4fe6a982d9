// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface StoreRequest {
  'owner'?: (string);
  'slots'?: (number | string | Long)[];
  'pages'?: (Buffer | Uint8Array | string)[];
  'requestId'?: (string);
}

export interface StoreRequest__Output {
  'owner': (string);
  'slots': (number)[];
  'pages': (Buffer)[];
  'requestId': (string);
}
