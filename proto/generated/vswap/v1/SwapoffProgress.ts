// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface SwapoffProgress {
  'moved'?: (number | string | Long);
  'remaining'?: (number | string | Long);
  'done'?: (boolean);
}

export interface SwapoffProgress__Output {
  'moved': (number);
  'remaining': (number);
  'done': (boolean);
}
