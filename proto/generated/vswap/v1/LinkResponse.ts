// Original file: proto/vswap/v1/backend.proto

import type { PutResponse as _vswap_v1_PutResponse, PutResponse__Output as _vswap_v1_PutResponse__Output } from '../../vswap/v1/PutResponse';
import type { GetResponse as _vswap_v1_GetResponse, GetResponse__Output as _vswap_v1_GetResponse__Output } from '../../vswap/v1/GetResponse';
import type { DeleteResponse as _vswap_v1_DeleteResponse, DeleteResponse__Output as _vswap_v1_DeleteResponse__Output } from '../../vswap/v1/DeleteResponse';
import type { LinkError as _vswap_v1_LinkError, LinkError__Output as _vswap_v1_LinkError__Output } from '../../vswap/v1/LinkError';

export interface LinkResponse {
  'id'?: (number);
  'put'?: (_vswap_v1_PutResponse | null);
  'get'?: (_vswap_v1_GetResponse | null);
  'delete'?: (_vswap_v1_DeleteResponse | null);
  'error'?: (_vswap_v1_LinkError | null);
  'result'?: "put"|"get"|"delete"|"error";
}

export interface LinkResponse__Output {
  'id': (number);
  'put'?: (_vswap_v1_PutResponse__Output | null);
  'get'?: (_vswap_v1_GetResponse__Output | null);
  'delete'?: (_vswap_v1_DeleteResponse__Output | null);
  'error'?: (_vswap_v1_LinkError__Output | null);
  'result'?: "put"|"get"|"delete"|"error";
}
