// Original file: proto/vswap/v1/backend.proto

import type { PutRequest as _vswap_v1_PutRequest, PutRequest__Output as _vswap_v1_PutRequest__Output } from '../../vswap/v1/PutRequest';
import type { GetRequest as _vswap_v1_GetRequest, GetRequest__Output as _vswap_v1_GetRequest__Output } from '../../vswap/v1/GetRequest';
import type { DeleteRequest as _vswap_v1_DeleteRequest, DeleteRequest__Output as _vswap_v1_DeleteRequest__Output } from '../../vswap/v1/DeleteRequest';

export interface LinkRequest {
  'id'?: (number);
  'put'?: (_vswap_v1_PutRequest | null);
  'get'?: (_vswap_v1_GetRequest | null);
  'delete'?: (_vswap_v1_DeleteRequest | null);
  'call'?: "put"|"get"|"delete";
}

export interface LinkRequest__Output {
  'id': (number);
  'put'?: (_vswap_v1_PutRequest__Output | null);
  'get'?: (_vswap_v1_GetRequest__Output | null);
  'delete'?: (_vswap_v1_DeleteRequest__Output | null);
  'call'?: "put"|"get"|"delete";
}
