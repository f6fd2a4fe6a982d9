// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface PutRequest {
  'pages'?: (Buffer | Uint8Array | string)[];
  'tags'?: (number | string | Long)[];
  'epoch'?: (string);
}

export interface PutRequest__Output {
  'pages': (Buffer)[];
  'tags': (number)[];
  'epoch': (string);
}
