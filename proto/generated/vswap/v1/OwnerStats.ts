// Original file: proto/vswap/v1/coordinator.proto

import type { Counter as _vswap_v1_Counter, Counter__Output as _vswap_v1_Counter__Output } from '../../vswap/v1/Counter';
import type { OwnerPolicy as _vswap_v1_OwnerPolicy, OwnerPolicy__Output as _vswap_v1_OwnerPolicy__Output } from '../../vswap/v1/OwnerPolicy';
import type { Long } from '@grpc/proto-loader';

export interface OwnerStats {
  'owner'?: (string);
  'usedSlots'?: (number | string | Long);
  'pagesByTier'?: (_vswap_v1_Counter)[];
  'swapOuts'?: (number | string | Long);
  'swapIns'?: (number | string | Long);
  'policy'?: (_vswap_v1_OwnerPolicy | null);
}

export interface OwnerStats__Output {
  'owner': (string);
  'usedSlots': (number);
  'pagesByTier': (_vswap_v1_Counter__Output)[];
  'swapOuts': (number);
  'swapIns': (number);
  'policy': (_vswap_v1_OwnerPolicy__Output | null);
}
