// Original file: proto/vswap/v1/backend.proto

import type { PutOutcome as _vswap_v1_PutOutcome, PutOutcome__Output as _vswap_v1_PutOutcome__Output } from '../../vswap/v1/PutOutcome';
import type { Long } from '@grpc/proto-loader';

export interface PutResponse {
  'handles'?: (number | string | Long)[];
  'outcomes'?: (_vswap_v1_PutOutcome)[];
  'storedSizes'?: (number)[];
  'epoch'?: (string);
}

export interface PutResponse__Output {
  'handles': (number)[];
  'outcomes': (_vswap_v1_PutOutcome__Output)[];
  'storedSizes': (number)[];
  'epoch': (string);
}
