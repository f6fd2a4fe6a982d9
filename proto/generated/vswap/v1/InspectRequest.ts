// Original file: proto/vswap/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface InspectRequest {
  'owner'?: (string);
  'slots'?: (number | string | Long)[];
}

export interface InspectRequest__Output {
  'owner': (string);
  'slots': (number)[];
}
