// Original file: proto/vswap/v1/backend.proto

export const DeleteReason = {
  DELETE_REASON_UNSPECIFIED: 'DELETE_REASON_UNSPECIFIED',
  DELETE_FREED: 'DELETE_FREED',
  DELETE_WRITTEN_BACK: 'DELETE_WRITTEN_BACK',
  DELETE_MIGRATED: 'DELETE_MIGRATED',
  DELETE_REPLACED: 'DELETE_REPLACED',
} as const;

export type DeleteReason =
  | 'DELETE_REASON_UNSPECIFIED'
  | 0
  | 'DELETE_FREED'
  | 1
  | 'DELETE_WRITTEN_BACK'
  | 2
  | 'DELETE_MIGRATED'
  | 3
  | 'DELETE_REPLACED'
  | 4

export type DeleteReason__Output = typeof DeleteReason[keyof typeof DeleteReason]
