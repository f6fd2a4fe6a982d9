// Original file: proto/vswap/v1/coordinator.proto

import type { BackendInfo as _vswap_v1_BackendInfo, BackendInfo__Output as _vswap_v1_BackendInfo__Output } from '../../vswap/v1/BackendInfo';

export interface SwaponResponse {
  'backend'?: (_vswap_v1_BackendInfo | null);
}

export interface SwaponResponse__Output {
  'backend': (_vswap_v1_BackendInfo__Output | null);
}
