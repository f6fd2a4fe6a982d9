// Original file: proto/vswap/v1/backend.proto

import type { Long } from '@grpc/proto-loader';

export interface BackendCounter {
  'name'?: (string);
  'value'?: (number | string | Long);
}

export interface BackendCounter__Output {
  'name': (string);
  'value': (number);
}
