// Original file: proto/vswap/v1/backend.proto

export const PutOutcome = {
  PUT_OUTCOME_UNSPECIFIED: 'PUT_OUTCOME_UNSPECIFIED',
  PUT_STORED: 'PUT_STORED',
  PUT_REJECT_COMPRESS_POOR: 'PUT_REJECT_COMPRESS_POOR',
  PUT_REJECT_COMPRESS_FAIL: 'PUT_REJECT_COMPRESS_FAIL',
  PUT_REJECT_ALLOC_FAIL: 'PUT_REJECT_ALLOC_FAIL',
  PUT_POOL_LIMIT_HIT: 'PUT_POOL_LIMIT_HIT',
  PUT_NO_SPACE: 'PUT_NO_SPACE',
} as const;

export type PutOutcome =
  | 'PUT_OUTCOME_UNSPECIFIED'
  | 0
  | 'PUT_STORED'
  | 1
  | 'PUT_REJECT_COMPRESS_POOR'
  | 2
  | 'PUT_REJECT_COMPRESS_FAIL'
  | 3
  | 'PUT_REJECT_ALLOC_FAIL'
  | 4
  | 'PUT_POOL_LIMIT_HIT'
  | 5
  | 'PUT_NO_SPACE'
  | 6

export type PutOutcome__Output = typeof PutOutcome[keyof typeof PutOutcome]
