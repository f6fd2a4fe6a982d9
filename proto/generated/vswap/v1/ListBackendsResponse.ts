// Original file: proto/vswap/v1/coordinator.proto

import type { BackendInfo as _vswap_v1_BackendInfo, BackendInfo__Output as _vswap_v1_BackendInfo__Output } from '../../vswap/v1/BackendInfo';

export interface ListBackendsResponse {
  'backends'?: (_vswap_v1_BackendInfo)[];
}

export interface ListBackendsResponse__Output {
  'backends': (_vswap_v1_BackendInfo__Output)[];
}
