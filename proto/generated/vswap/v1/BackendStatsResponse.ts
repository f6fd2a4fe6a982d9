// Original file: proto/vswap/v1/backend.proto

import type { BackendCounter as _vswap_v1_BackendCounter, BackendCounter__Output as _vswap_v1_BackendCounter__Output } from '../../vswap/v1/BackendCounter';

export interface BackendStatsResponse {
  'counters'?: (_vswap_v1_BackendCounter)[];
  'fragmentation'?: (number | string);
}

export interface BackendStatsResponse__Output {
  'counters': (_vswap_v1_BackendCounter__Output)[];
  'fragmentation': (number);
}
