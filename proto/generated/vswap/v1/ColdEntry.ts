// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface ColdEntry {
  'handle'?: (number | string | Long);
  'page'?: (Buffer | Uint8Array | string);
}

export interface ColdEntry__Output {
  'handle': (number);
  'page': (Buffer);
}
