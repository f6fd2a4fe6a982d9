import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BackendClient as _vswap_v1_BackendClient, BackendDefinition as _vswap_v1_BackendDefinition } from './vswap/v1/Backend';
import type { BackendCounter as _vswap_v1_BackendCounter, BackendCounter__Output as _vswap_v1_BackendCounter__Output } from './vswap/v1/BackendCounter';
import type { BackendStatsRequest as _vswap_v1_BackendStatsRequest, BackendStatsRequest__Output as _vswap_v1_BackendStatsRequest__Output } from './vswap/v1/BackendStatsRequest';
import type { BackendStatsResponse as _vswap_v1_BackendStatsResponse, BackendStatsResponse__Output as _vswap_v1_BackendStatsResponse__Output } from './vswap/v1/BackendStatsResponse';
import type { ColdEntry as _vswap_v1_ColdEntry, ColdEntry__Output as _vswap_v1_ColdEntry__Output } from './vswap/v1/ColdEntry';
import type { ColdestRequest as _vswap_v1_ColdestRequest, ColdestRequest__Output as _vswap_v1_ColdestRequest__Output } from './vswap/v1/ColdestRequest';
import type { ColdestResponse as _vswap_v1_ColdestResponse, ColdestResponse__Output as _vswap_v1_ColdestResponse__Output } from './vswap/v1/ColdestResponse';
import type { DeleteRequest as _vswap_v1_DeleteRequest, DeleteRequest__Output as _vswap_v1_DeleteRequest__Output } from './vswap/v1/DeleteRequest';
import type { DeleteResponse as _vswap_v1_DeleteResponse, DeleteResponse__Output as _vswap_v1_DeleteResponse__Output } from './vswap/v1/DeleteResponse';
import type { GetRequest as _vswap_v1_GetRequest, GetRequest__Output as _vswap_v1_GetRequest__Output } from './vswap/v1/GetRequest';
import type { GetResponse as _vswap_v1_GetResponse, GetResponse__Output as _vswap_v1_GetResponse__Output } from './vswap/v1/GetResponse';
import type { InfoRequest as _vswap_v1_InfoRequest, InfoRequest__Output as _vswap_v1_InfoRequest__Output } from './vswap/v1/InfoRequest';
import type { InfoResponse as _vswap_v1_InfoResponse, InfoResponse__Output as _vswap_v1_InfoResponse__Output } from './vswap/v1/InfoResponse';
import type { LinkError as _vswap_v1_LinkError, LinkError__Output as _vswap_v1_LinkError__Output } from './vswap/v1/LinkError';
import type { LinkRequest as _vswap_v1_LinkRequest, LinkRequest__Output as _vswap_v1_LinkRequest__Output } from './vswap/v1/LinkRequest';
import type { LinkResponse as _vswap_v1_LinkResponse, LinkResponse__Output as _vswap_v1_LinkResponse__Output } from './vswap/v1/LinkResponse';
import type { PutRequest as _vswap_v1_PutRequest, PutRequest__Output as _vswap_v1_PutRequest__Output } from './vswap/v1/PutRequest';
import type { PutResponse as _vswap_v1_PutResponse, PutResponse__Output as _vswap_v1_PutResponse__Output } from './vswap/v1/PutResponse';
import type { ReconcileRequest as _vswap_v1_ReconcileRequest, ReconcileRequest__Output as _vswap_v1_ReconcileRequest__Output } from './vswap/v1/ReconcileRequest';
import type { ReconcileResponse as _vswap_v1_ReconcileResponse, ReconcileResponse__Output as _vswap_v1_ReconcileResponse__Output } from './vswap/v1/ReconcileResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  vswap: {
    v1: {
      Backend: SubtypeConstructor<typeof grpc.Client, _vswap_v1_BackendClient> & { service: _vswap_v1_BackendDefinition }
      BackendCounter: MessageTypeDefinition<_vswap_v1_BackendCounter, _vswap_v1_BackendCounter__Output>
      BackendStatsRequest: MessageTypeDefinition<_vswap_v1_BackendStatsRequest, _vswap_v1_BackendStatsRequest__Output>
      BackendStatsResponse: MessageTypeDefinition<_vswap_v1_BackendStatsResponse, _vswap_v1_BackendStatsResponse__Output>
      ColdEntry: MessageTypeDefinition<_vswap_v1_ColdEntry, _vswap_v1_ColdEntry__Output>
      ColdestRequest: MessageTypeDefinition<_vswap_v1_ColdestRequest, _vswap_v1_ColdestRequest__Output>
      ColdestResponse: MessageTypeDefinition<_vswap_v1_ColdestResponse, _vswap_v1_ColdestResponse__Output>
      DeleteReason: EnumTypeDefinition
      DeleteRequest: MessageTypeDefinition<_vswap_v1_DeleteRequest, _vswap_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_vswap_v1_DeleteResponse, _vswap_v1_DeleteResponse__Output>
      GetRequest: MessageTypeDefinition<_vswap_v1_GetRequest, _vswap_v1_GetRequest__Output>
      GetResponse: MessageTypeDefinition<_vswap_v1_GetResponse, _vswap_v1_GetResponse__Output>
      InfoRequest: MessageTypeDefinition<_vswap_v1_InfoRequest, _vswap_v1_InfoRequest__Output>
      InfoResponse: MessageTypeDefinition<_vswap_v1_InfoResponse, _vswap_v1_InfoResponse__Output>
      LinkError: MessageTypeDefinition<_vswap_v1_LinkError, _vswap_v1_LinkError__Output>
      LinkRequest: MessageTypeDefinition<_vswap_v1_LinkRequest, _vswap_v1_LinkRequest__Output>
      LinkResponse: MessageTypeDefinition<_vswap_v1_LinkResponse, _vswap_v1_LinkResponse__Output>
      PutOutcome: EnumTypeDefinition
      PutRequest: MessageTypeDefinition<_vswap_v1_PutRequest, _vswap_v1_PutRequest__Output>
      PutResponse: MessageTypeDefinition<_vswap_v1_PutResponse, _vswap_v1_PutResponse__Output>
      ReconcileRequest: MessageTypeDefinition<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileRequest__Output>
      ReconcileResponse: MessageTypeDefinition<_vswap_v1_ReconcileResponse, _vswap_v1_ReconcileResponse__Output>
    }
  }
}

