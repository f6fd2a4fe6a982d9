// Original file: proto/vswap/v1/coordinator.proto

import type { Tier as _vswap_v1_Tier, Tier__Output as _vswap_v1_Tier__Output } from '../../vswap/v1/Tier';

export interface StoreResponse {
  'tiers'?: (_vswap_v1_Tier)[];
}

export interface StoreResponse__Output {
  'tiers': (_vswap_v1_Tier__Output)[];
}
