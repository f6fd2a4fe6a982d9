// Original file: proto/vswap/v1/backend.proto

import type { ColdEntry as _vswap_v1_ColdEntry, ColdEntry__Output as _vswap_v1_ColdEntry__Output } from '../../vswap/v1/ColdEntry';

export interface ColdestResponse {
  'entries'?: (_vswap_v1_ColdEntry)[];
}

export interface ColdestResponse__Output {
  'entries': (_vswap_v1_ColdEntry__Output)[];
}
