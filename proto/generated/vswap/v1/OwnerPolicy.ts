// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface OwnerPolicy {
  'owner'?: (string);
  'zswapMaxPages'?: (number | string | Long);
  'zswapWriteback'?: (boolean);
  'swapMaxPages'?: (number | string | Long);
  'update'?: (boolean);
}

export interface OwnerPolicy__Output {
  'owner': (string);
  'zswapMaxPages': (number);
  'zswapWriteback': (boolean);
  'swapMaxPages': (number);
  'update': (boolean);
}
