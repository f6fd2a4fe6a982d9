// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface AllocateResponse {
  'slots'?: (number | string | Long)[];
}

export interface AllocateResponse__Output {
  'slots': (number)[];
}
