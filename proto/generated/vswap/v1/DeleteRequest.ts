// Original file: proto/vswap/v1/backend.proto

import type { DeleteReason as _vswap_v1_DeleteReason, DeleteReason__Output as _vswap_v1_DeleteReason__Output } from '../../vswap/v1/DeleteReason';
import type { Long } from '@grpc/proto-loader';

export interface DeleteRequest {
  'handles'?: (number | string | Long)[];
  'reason'?: (_vswap_v1_DeleteReason);
  'ignoreMissing'?: (boolean);
  'epoch'?: (string);
}

export interface DeleteRequest__Output {
  'handles': (number)[];
  'reason': (_vswap_v1_DeleteReason__Output);
  'ignoreMissing': (boolean);
  'epoch': (string);
}
