// Original file: proto/vswap/v1/coordinator.proto

import type { Counter as _vswap_v1_Counter, Counter__Output as _vswap_v1_Counter__Output } from '../../vswap/v1/Counter';
import type { OwnerStats as _vswap_v1_OwnerStats, OwnerStats__Output as _vswap_v1_OwnerStats__Output } from '../../vswap/v1/OwnerStats';
import type { JournalStats as _vswap_v1_JournalStats, JournalStats__Output as _vswap_v1_JournalStats__Output } from '../../vswap/v1/JournalStats';
import type { Long } from '@grpc/proto-loader';

export interface StatsResponse {
  'usedSlots'?: (number | string | Long);
  'pagesByTier'?: (_vswap_v1_Counter)[];
  'swapOuts'?: (number | string | Long);
  'swapIns'?: (number | string | Long);
  'slotTableBytes'?: (number | string | Long);
  'maxSwapCount'?: (number);
  'zswap'?: (_vswap_v1_Counter)[];
  'owners'?: (_vswap_v1_OwnerStats)[];
  'counters'?: (_vswap_v1_Counter)[];
  'journal'?: (_vswap_v1_JournalStats | null);
}

export interface StatsResponse__Output {
  'usedSlots': (number);
  'pagesByTier': (_vswap_v1_Counter__Output)[];
  'swapOuts': (number);
  'swapIns': (number);
  'slotTableBytes': (number);
  'maxSwapCount': (number);
  'zswap': (_vswap_v1_Counter__Output)[];
  'owners': (_vswap_v1_OwnerStats__Output)[];
  'counters': (_vswap_v1_Counter__Output)[];
  'journal': (_vswap_v1_JournalStats__Output | null);
}
