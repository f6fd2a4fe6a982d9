// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface ColdEntry {
  'handle'?: (number | string | Long);
  'page'?: (Buffer | Uint8Array | string);
  'tag'?: (number | string | Long);
}

export interface ColdEntry__Output {
  'handle': (number);
  'page': (Buffer);
  'tag': (number);
}
