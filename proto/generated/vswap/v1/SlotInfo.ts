// Original file: proto/vswap/v1/coordinator.proto

import type { Tier as _vswap_v1_Tier, Tier__Output as _vswap_v1_Tier__Output } from '../../vswap/v1/Tier';
import type { Long } from '@grpc/proto-loader';

export interface SlotInfo {
  'slot'?: (number | string | Long);
  'count'?: (number);
  'tier'?: (_vswap_v1_Tier);
  'backend'?: (string);
  'owner'?: (string);
  'handle'?: (number | string | Long);
  'checksum'?: (number);
  'inSwapCache'?: (boolean);
}

export interface SlotInfo__Output {
  'slot': (number);
  'count': (number);
  'tier': (_vswap_v1_Tier__Output);
  'backend': (string);
  'owner': (string);
  'handle': (number);
  'checksum': (number);
  'inSwapCache': (boolean);
}
