// Original file: proto/vswap/v1/coordinator.proto

import type { Tier as _vswap_v1_Tier, Tier__Output as _vswap_v1_Tier__Output } from '../../vswap/v1/Tier';
import type { Long } from '@grpc/proto-loader';

export interface SwapOutResponse {
  'slots'?: (number | string | Long)[];
  'tiers'?: (_vswap_v1_Tier)[];
}

export interface SwapOutResponse__Output {
  'slots': (number)[];
  'tiers': (_vswap_v1_Tier__Output)[];
}
