// Original file: proto/vswap/v1/backend.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BackendStatsRequest as _vswap_v1_BackendStatsRequest, BackendStatsRequest__Output as _vswap_v1_BackendStatsRequest__Output } from '../../vswap/v1/BackendStatsRequest';
import type { BackendStatsResponse as _vswap_v1_BackendStatsResponse, BackendStatsResponse__Output as _vswap_v1_BackendStatsResponse__Output } from '../../vswap/v1/BackendStatsResponse';
import type { ColdestRequest as _vswap_v1_ColdestRequest, ColdestRequest__Output as _vswap_v1_ColdestRequest__Output } from '../../vswap/v1/ColdestRequest';
import type { ColdestResponse as _vswap_v1_ColdestResponse, ColdestResponse__Output as _vswap_v1_ColdestResponse__Output } from '../../vswap/v1/ColdestResponse';
import type { DeleteRequest as _vswap_v1_DeleteRequest, DeleteRequest__Output as _vswap_v1_DeleteRequest__Output } from '../../vswap/v1/DeleteRequest';
import type { DeleteResponse as _vswap_v1_DeleteResponse, DeleteResponse__Output as _vswap_v1_DeleteResponse__Output } from '../../vswap/v1/DeleteResponse';
import type { GetRequest as _vswap_v1_GetRequest, GetRequest__Output as _vswap_v1_GetRequest__Output } from '../../vswap/v1/GetRequest';
import type { GetResponse as _vswap_v1_GetResponse, GetResponse__Output as _vswap_v1_GetResponse__Output } from '../../vswap/v1/GetResponse';
import type { InfoRequest as _vswap_v1_InfoRequest, InfoRequest__Output as _vswap_v1_InfoRequest__Output } from '../../vswap/v1/InfoRequest';
import type { InfoResponse as _vswap_v1_InfoResponse, InfoResponse__Output as _vswap_v1_InfoResponse__Output } from '../../vswap/v1/InfoResponse';
import type { LinkRequest as _vswap_v1_LinkRequest, LinkRequest__Output as _vswap_v1_LinkRequest__Output } from '../../vswap/v1/LinkRequest';
import type { LinkResponse as _vswap_v1_LinkResponse, LinkResponse__Output as _vswap_v1_LinkResponse__Output } from '../../vswap/v1/LinkResponse';
import type { PutRequest as _vswap_v1_PutRequest, PutRequest__Output as _vswap_v1_PutRequest__Output } from '../../vswap/v1/PutRequest';
import type { PutResponse as _vswap_v1_PutResponse, PutResponse__Output as _vswap_v1_PutResponse__Output } from '../../vswap/v1/PutResponse';
import type { ReconcileRequest as _vswap_v1_ReconcileRequest, ReconcileRequest__Output as _vswap_v1_ReconcileRequest__Output } from '../../vswap/v1/ReconcileRequest';
import type { ReconcileResponse as _vswap_v1_ReconcileResponse, ReconcileResponse__Output as _vswap_v1_ReconcileResponse__Output } from '../../vswap/v1/ReconcileResponse';

export interface BackendClient extends grpc.Client {
  Coldest(argument: _vswap_v1_ColdestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  Coldest(argument: _vswap_v1_ColdestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  Coldest(argument: _vswap_v1_ColdestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  Coldest(argument: _vswap_v1_ColdestRequest, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  coldest(argument: _vswap_v1_ColdestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  coldest(argument: _vswap_v1_ColdestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  coldest(argument: _vswap_v1_ColdestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  coldest(argument: _vswap_v1_ColdestRequest, callback: grpc.requestCallback<_vswap_v1_ColdestResponse__Output>): grpc.ClientUnaryCall;
  
  Delete(argument: _vswap_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _vswap_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _vswap_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _vswap_v1_DeleteRequest, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _vswap_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _vswap_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _vswap_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _vswap_v1_DeleteRequest, callback: grpc.requestCallback<_vswap_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  Get(argument: _vswap_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _vswap_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _vswap_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _vswap_v1_GetRequest, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _vswap_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _vswap_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _vswap_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _vswap_v1_GetRequest, callback: grpc.requestCallback<_vswap_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  
  Info(argument: _vswap_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _vswap_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _vswap_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _vswap_v1_InfoRequest, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _vswap_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _vswap_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _vswap_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _vswap_v1_InfoRequest, callback: grpc.requestCallback<_vswap_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  
  Link(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_LinkRequest, _vswap_v1_LinkResponse__Output>;
  Link(options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_LinkRequest, _vswap_v1_LinkResponse__Output>;
  link(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_LinkRequest, _vswap_v1_LinkResponse__Output>;
  link(options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_LinkRequest, _vswap_v1_LinkResponse__Output>;
  
  Put(argument: _vswap_v1_PutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _vswap_v1_PutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _vswap_v1_PutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _vswap_v1_PutRequest, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _vswap_v1_PutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _vswap_v1_PutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _vswap_v1_PutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _vswap_v1_PutRequest, callback: grpc.requestCallback<_vswap_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  
  Reconcile(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileResponse__Output>;
  Reconcile(options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileResponse__Output>;
  reconcile(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileResponse__Output>;
  reconcile(options?: grpc.CallOptions): grpc.ClientDuplexStream<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileResponse__Output>;
  
  Stats(argument: _vswap_v1_BackendStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_BackendStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_BackendStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_BackendStatsRequest, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_BackendStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_BackendStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_BackendStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_BackendStatsRequest, callback: grpc.requestCallback<_vswap_v1_BackendStatsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface BackendHandlers extends grpc.UntypedServiceImplementation {
  Coldest: grpc.handleUnaryCall<_vswap_v1_ColdestRequest__Output, _vswap_v1_ColdestResponse>;
  
  Delete: grpc.handleUnaryCall<_vswap_v1_DeleteRequest__Output, _vswap_v1_DeleteResponse>;
  
  Get: grpc.handleUnaryCall<_vswap_v1_GetRequest__Output, _vswap_v1_GetResponse>;
  
  Info: grpc.handleUnaryCall<_vswap_v1_InfoRequest__Output, _vswap_v1_InfoResponse>;
  
  Link: grpc.handleBidiStreamingCall<_vswap_v1_LinkRequest__Output, _vswap_v1_LinkResponse>;
  
  Put: grpc.handleUnaryCall<_vswap_v1_PutRequest__Output, _vswap_v1_PutResponse>;
  
  Reconcile: grpc.handleBidiStreamingCall<_vswap_v1_ReconcileRequest__Output, _vswap_v1_ReconcileResponse>;
  
  Stats: grpc.handleUnaryCall<_vswap_v1_BackendStatsRequest__Output, _vswap_v1_BackendStatsResponse>;
  
}

export interface BackendDefinition extends grpc.ServiceDefinition {
  Coldest: MethodDefinition<_vswap_v1_ColdestRequest, _vswap_v1_ColdestResponse, _vswap_v1_ColdestRequest__Output, _vswap_v1_ColdestResponse__Output>
  Delete: MethodDefinition<_vswap_v1_DeleteRequest, _vswap_v1_DeleteResponse, _vswap_v1_DeleteRequest__Output, _vswap_v1_DeleteResponse__Output>
  Get: MethodDefinition<_vswap_v1_GetRequest, _vswap_v1_GetResponse, _vswap_v1_GetRequest__Output, _vswap_v1_GetResponse__Output>
  Info: MethodDefinition<_vswap_v1_InfoRequest, _vswap_v1_InfoResponse, _vswap_v1_InfoRequest__Output, _vswap_v1_InfoResponse__Output>
  Link: MethodDefinition<_vswap_v1_LinkRequest, _vswap_v1_LinkResponse, _vswap_v1_LinkRequest__Output, _vswap_v1_LinkResponse__Output>
  Put: MethodDefinition<_vswap_v1_PutRequest, _vswap_v1_PutResponse, _vswap_v1_PutRequest__Output, _vswap_v1_PutResponse__Output>
  Reconcile: MethodDefinition<_vswap_v1_ReconcileRequest, _vswap_v1_ReconcileResponse, _vswap_v1_ReconcileRequest__Output, _vswap_v1_ReconcileResponse__Output>
  Stats: MethodDefinition<_vswap_v1_BackendStatsRequest, _vswap_v1_BackendStatsResponse, _vswap_v1_BackendStatsRequest__Output, _vswap_v1_BackendStatsResponse__Output>
}
