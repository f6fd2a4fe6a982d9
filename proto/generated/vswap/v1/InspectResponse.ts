// Original file: proto/vswap/v1/coordinator.proto

import type { SlotInfo as _vswap_v1_SlotInfo, SlotInfo__Output as _vswap_v1_SlotInfo__Output } from '../../vswap/v1/SlotInfo';

export interface InspectResponse {
  'slots'?: (_vswap_v1_SlotInfo)[];
}

export interface InspectResponse__Output {
  'slots': (_vswap_v1_SlotInfo__Output)[];
}
