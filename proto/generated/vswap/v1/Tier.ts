// Original file: proto/vswap/v1/coordinator.proto

export const Tier = {
  TIER_UNSPECIFIED: 'TIER_UNSPECIFIED',
  TIER_EMPTY: 'TIER_EMPTY',
  TIER_ZERO: 'TIER_ZERO',
  TIER_ZSWAP: 'TIER_ZSWAP',
  TIER_SWAPFILE: 'TIER_SWAPFILE',
  TIER_LOST: 'TIER_LOST',
} as const;

export type Tier =
  | 'TIER_UNSPECIFIED'
  | 0
  | 'TIER_EMPTY'
  | 1
  | 'TIER_ZERO'
  | 2
  | 'TIER_ZSWAP'
  | 3
  | 'TIER_SWAPFILE'
  | 4
  | 'TIER_LOST'
  | 5

export type Tier__Output = typeof Tier[keyof typeof Tier]
