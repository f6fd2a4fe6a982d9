// Original file: proto/vswap/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AllocateRequest as _vswap_v1_AllocateRequest, AllocateRequest__Output as _vswap_v1_AllocateRequest__Output } from '../../vswap/v1/AllocateRequest';
import type { AllocateResponse as _vswap_v1_AllocateResponse, AllocateResponse__Output as _vswap_v1_AllocateResponse__Output } from '../../vswap/v1/AllocateResponse';
import type { DuplicateRequest as _vswap_v1_DuplicateRequest, DuplicateRequest__Output as _vswap_v1_DuplicateRequest__Output } from '../../vswap/v1/DuplicateRequest';
import type { DuplicateResponse as _vswap_v1_DuplicateResponse, DuplicateResponse__Output as _vswap_v1_DuplicateResponse__Output } from '../../vswap/v1/DuplicateResponse';
import type { FreeRequest as _vswap_v1_FreeRequest, FreeRequest__Output as _vswap_v1_FreeRequest__Output } from '../../vswap/v1/FreeRequest';
import type { FreeResponse as _vswap_v1_FreeResponse, FreeResponse__Output as _vswap_v1_FreeResponse__Output } from '../../vswap/v1/FreeResponse';
import type { InspectRequest as _vswap_v1_InspectRequest, InspectRequest__Output as _vswap_v1_InspectRequest__Output } from '../../vswap/v1/InspectRequest';
import type { InspectResponse as _vswap_v1_InspectResponse, InspectResponse__Output as _vswap_v1_InspectResponse__Output } from '../../vswap/v1/InspectResponse';
import type { ListBackendsRequest as _vswap_v1_ListBackendsRequest, ListBackendsRequest__Output as _vswap_v1_ListBackendsRequest__Output } from '../../vswap/v1/ListBackendsRequest';
import type { ListBackendsResponse as _vswap_v1_ListBackendsResponse, ListBackendsResponse__Output as _vswap_v1_ListBackendsResponse__Output } from '../../vswap/v1/ListBackendsResponse';
import type { LoadRequest as _vswap_v1_LoadRequest, LoadRequest__Output as _vswap_v1_LoadRequest__Output } from '../../vswap/v1/LoadRequest';
import type { LoadResponse as _vswap_v1_LoadResponse, LoadResponse__Output as _vswap_v1_LoadResponse__Output } from '../../vswap/v1/LoadResponse';
import type { OwnerPolicy as _vswap_v1_OwnerPolicy, OwnerPolicy__Output as _vswap_v1_OwnerPolicy__Output } from '../../vswap/v1/OwnerPolicy';
import type { StatsRequest as _vswap_v1_StatsRequest, StatsRequest__Output as _vswap_v1_StatsRequest__Output } from '../../vswap/v1/StatsRequest';
import type { StatsResponse as _vswap_v1_StatsResponse, StatsResponse__Output as _vswap_v1_StatsResponse__Output } from '../../vswap/v1/StatsResponse';
import type { StoreRequest as _vswap_v1_StoreRequest, StoreRequest__Output as _vswap_v1_StoreRequest__Output } from '../../vswap/v1/StoreRequest';
import type { StoreResponse as _vswap_v1_StoreResponse, StoreResponse__Output as _vswap_v1_StoreResponse__Output } from '../../vswap/v1/StoreResponse';
import type { SwapOutRequest as _vswap_v1_SwapOutRequest, SwapOutRequest__Output as _vswap_v1_SwapOutRequest__Output } from '../../vswap/v1/SwapOutRequest';
import type { SwapOutResponse as _vswap_v1_SwapOutResponse, SwapOutResponse__Output as _vswap_v1_SwapOutResponse__Output } from '../../vswap/v1/SwapOutResponse';
import type { SwapoffProgress as _vswap_v1_SwapoffProgress, SwapoffProgress__Output as _vswap_v1_SwapoffProgress__Output } from '../../vswap/v1/SwapoffProgress';
import type { SwapoffRequest as _vswap_v1_SwapoffRequest, SwapoffRequest__Output as _vswap_v1_SwapoffRequest__Output } from '../../vswap/v1/SwapoffRequest';
import type { SwaponRequest as _vswap_v1_SwaponRequest, SwaponRequest__Output as _vswap_v1_SwaponRequest__Output } from '../../vswap/v1/SwaponRequest';
import type { SwaponResponse as _vswap_v1_SwaponResponse, SwaponResponse__Output as _vswap_v1_SwaponResponse__Output } from '../../vswap/v1/SwaponResponse';
import type { WritebackRequest as _vswap_v1_WritebackRequest, WritebackRequest__Output as _vswap_v1_WritebackRequest__Output } from '../../vswap/v1/WritebackRequest';
import type { WritebackResponse as _vswap_v1_WritebackResponse, WritebackResponse__Output as _vswap_v1_WritebackResponse__Output } from '../../vswap/v1/WritebackResponse';

export interface VirtualSwapClient extends grpc.Client {
  Allocate(argument: _vswap_v1_AllocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  Allocate(argument: _vswap_v1_AllocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  Allocate(argument: _vswap_v1_AllocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  Allocate(argument: _vswap_v1_AllocateRequest, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  allocate(argument: _vswap_v1_AllocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  allocate(argument: _vswap_v1_AllocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  allocate(argument: _vswap_v1_AllocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  allocate(argument: _vswap_v1_AllocateRequest, callback: grpc.requestCallback<_vswap_v1_AllocateResponse__Output>): grpc.ClientUnaryCall;
  
  Duplicate(argument: _vswap_v1_DuplicateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  Duplicate(argument: _vswap_v1_DuplicateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  Duplicate(argument: _vswap_v1_DuplicateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  Duplicate(argument: _vswap_v1_DuplicateRequest, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  duplicate(argument: _vswap_v1_DuplicateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  duplicate(argument: _vswap_v1_DuplicateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  duplicate(argument: _vswap_v1_DuplicateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  duplicate(argument: _vswap_v1_DuplicateRequest, callback: grpc.requestCallback<_vswap_v1_DuplicateResponse__Output>): grpc.ClientUnaryCall;
  
  Free(argument: _vswap_v1_FreeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  Free(argument: _vswap_v1_FreeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  Free(argument: _vswap_v1_FreeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  Free(argument: _vswap_v1_FreeRequest, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  free(argument: _vswap_v1_FreeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  free(argument: _vswap_v1_FreeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  free(argument: _vswap_v1_FreeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  free(argument: _vswap_v1_FreeRequest, callback: grpc.requestCallback<_vswap_v1_FreeResponse__Output>): grpc.ClientUnaryCall;
  
  Inspect(argument: _vswap_v1_InspectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  Inspect(argument: _vswap_v1_InspectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  Inspect(argument: _vswap_v1_InspectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  Inspect(argument: _vswap_v1_InspectRequest, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  inspect(argument: _vswap_v1_InspectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  inspect(argument: _vswap_v1_InspectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  inspect(argument: _vswap_v1_InspectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  inspect(argument: _vswap_v1_InspectRequest, callback: grpc.requestCallback<_vswap_v1_InspectResponse__Output>): grpc.ClientUnaryCall;
  
  ListBackends(argument: _vswap_v1_ListBackendsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _vswap_v1_ListBackendsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _vswap_v1_ListBackendsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _vswap_v1_ListBackendsRequest, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _vswap_v1_ListBackendsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _vswap_v1_ListBackendsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _vswap_v1_ListBackendsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _vswap_v1_ListBackendsRequest, callback: grpc.requestCallback<_vswap_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  
  Load(argument: _vswap_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _vswap_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _vswap_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _vswap_v1_LoadRequest, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _vswap_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _vswap_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _vswap_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _vswap_v1_LoadRequest, callback: grpc.requestCallback<_vswap_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  
  SetOwnerPolicy(argument: _vswap_v1_OwnerPolicy, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  SetOwnerPolicy(argument: _vswap_v1_OwnerPolicy, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  SetOwnerPolicy(argument: _vswap_v1_OwnerPolicy, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  SetOwnerPolicy(argument: _vswap_v1_OwnerPolicy, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  setOwnerPolicy(argument: _vswap_v1_OwnerPolicy, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  setOwnerPolicy(argument: _vswap_v1_OwnerPolicy, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  setOwnerPolicy(argument: _vswap_v1_OwnerPolicy, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  setOwnerPolicy(argument: _vswap_v1_OwnerPolicy, callback: grpc.requestCallback<_vswap_v1_OwnerPolicy__Output>): grpc.ClientUnaryCall;
  
  Stats(argument: _vswap_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _vswap_v1_StatsRequest, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _vswap_v1_StatsRequest, callback: grpc.requestCallback<_vswap_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  
  Store(argument: _vswap_v1_StoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  Store(argument: _vswap_v1_StoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  Store(argument: _vswap_v1_StoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  Store(argument: _vswap_v1_StoreRequest, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  store(argument: _vswap_v1_StoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  store(argument: _vswap_v1_StoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  store(argument: _vswap_v1_StoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  store(argument: _vswap_v1_StoreRequest, callback: grpc.requestCallback<_vswap_v1_StoreResponse__Output>): grpc.ClientUnaryCall;
  
  SwapOut(argument: _vswap_v1_SwapOutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  SwapOut(argument: _vswap_v1_SwapOutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  SwapOut(argument: _vswap_v1_SwapOutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  SwapOut(argument: _vswap_v1_SwapOutRequest, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  swapOut(argument: _vswap_v1_SwapOutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  swapOut(argument: _vswap_v1_SwapOutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  swapOut(argument: _vswap_v1_SwapOutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  swapOut(argument: _vswap_v1_SwapOutRequest, callback: grpc.requestCallback<_vswap_v1_SwapOutResponse__Output>): grpc.ClientUnaryCall;
  
  Swapoff(argument: _vswap_v1_SwapoffRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vswap_v1_SwapoffProgress__Output>;
  Swapoff(argument: _vswap_v1_SwapoffRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vswap_v1_SwapoffProgress__Output>;
  swapoff(argument: _vswap_v1_SwapoffRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vswap_v1_SwapoffProgress__Output>;
  swapoff(argument: _vswap_v1_SwapoffRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vswap_v1_SwapoffProgress__Output>;
  
  Swapon(argument: _vswap_v1_SwaponRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  Swapon(argument: _vswap_v1_SwaponRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  Swapon(argument: _vswap_v1_SwaponRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  Swapon(argument: _vswap_v1_SwaponRequest, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  swapon(argument: _vswap_v1_SwaponRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  swapon(argument: _vswap_v1_SwaponRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  swapon(argument: _vswap_v1_SwaponRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  swapon(argument: _vswap_v1_SwaponRequest, callback: grpc.requestCallback<_vswap_v1_SwaponResponse__Output>): grpc.ClientUnaryCall;
  
  Writeback(argument: _vswap_v1_WritebackRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  Writeback(argument: _vswap_v1_WritebackRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  Writeback(argument: _vswap_v1_WritebackRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  Writeback(argument: _vswap_v1_WritebackRequest, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  writeback(argument: _vswap_v1_WritebackRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  writeback(argument: _vswap_v1_WritebackRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  writeback(argument: _vswap_v1_WritebackRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  writeback(argument: _vswap_v1_WritebackRequest, callback: grpc.requestCallback<_vswap_v1_WritebackResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface VirtualSwapHandlers extends grpc.UntypedServiceImplementation {
  Allocate: grpc.handleUnaryCall<_vswap_v1_AllocateRequest__Output, _vswap_v1_AllocateResponse>;
  
  Duplicate: grpc.handleUnaryCall<_vswap_v1_DuplicateRequest__Output, _vswap_v1_DuplicateResponse>;
  
  Free: grpc.handleUnaryCall<_vswap_v1_FreeRequest__Output, _vswap_v1_FreeResponse>;
  
  Inspect: grpc.handleUnaryCall<_vswap_v1_InspectRequest__Output, _vswap_v1_InspectResponse>;
  
  ListBackends: grpc.handleUnaryCall<_vswap_v1_ListBackendsRequest__Output, _vswap_v1_ListBackendsResponse>;
  
  Load: grpc.handleUnaryCall<_vswap_v1_LoadRequest__Output, _vswap_v1_LoadResponse>;
  
  SetOwnerPolicy: grpc.handleUnaryCall<_vswap_v1_OwnerPolicy__Output, _vswap_v1_OwnerPolicy>;
  
  Stats: grpc.handleUnaryCall<_vswap_v1_StatsRequest__Output, _vswap_v1_StatsResponse>;
  
  Store: grpc.handleUnaryCall<_vswap_v1_StoreRequest__Output, _vswap_v1_StoreResponse>;
  
  SwapOut: grpc.handleUnaryCall<_vswap_v1_SwapOutRequest__Output, _vswap_v1_SwapOutResponse>;
  
  Swapoff: grpc.handleServerStreamingCall<_vswap_v1_SwapoffRequest__Output, _vswap_v1_SwapoffProgress>;
  
  Swapon: grpc.handleUnaryCall<_vswap_v1_SwaponRequest__Output, _vswap_v1_SwaponResponse>;
  
  Writeback: grpc.handleUnaryCall<_vswap_v1_WritebackRequest__Output, _vswap_v1_WritebackResponse>;
  
}

export interface VirtualSwapDefinition extends grpc.ServiceDefinition {
  Allocate: MethodDefinition<_vswap_v1_AllocateRequest, _vswap_v1_AllocateResponse, _vswap_v1_AllocateRequest__Output, _vswap_v1_AllocateResponse__Output>
  Duplicate: MethodDefinition<_vswap_v1_DuplicateRequest, _vswap_v1_DuplicateResponse, _vswap_v1_DuplicateRequest__Output, _vswap_v1_DuplicateResponse__Output>
  Free: MethodDefinition<_vswap_v1_FreeRequest, _vswap_v1_FreeResponse, _vswap_v1_FreeRequest__Output, _vswap_v1_FreeResponse__Output>
  Inspect: MethodDefinition<_vswap_v1_InspectRequest, _vswap_v1_InspectResponse, _vswap_v1_InspectRequest__Output, _vswap_v1_InspectResponse__Output>
  ListBackends: MethodDefinition<_vswap_v1_ListBackendsRequest, _vswap_v1_ListBackendsResponse, _vswap_v1_ListBackendsRequest__Output, _vswap_v1_ListBackendsResponse__Output>
  Load: MethodDefinition<_vswap_v1_LoadRequest, _vswap_v1_LoadResponse, _vswap_v1_LoadRequest__Output, _vswap_v1_LoadResponse__Output>
  SetOwnerPolicy: MethodDefinition<_vswap_v1_OwnerPolicy, _vswap_v1_OwnerPolicy, _vswap_v1_OwnerPolicy__Output, _vswap_v1_OwnerPolicy__Output>
  Stats: MethodDefinition<_vswap_v1_StatsRequest, _vswap_v1_StatsResponse, _vswap_v1_StatsRequest__Output, _vswap_v1_StatsResponse__Output>
  Store: MethodDefinition<_vswap_v1_StoreRequest, _vswap_v1_StoreResponse, _vswap_v1_StoreRequest__Output, _vswap_v1_StoreResponse__Output>
  SwapOut: MethodDefinition<_vswap_v1_SwapOutRequest, _vswap_v1_SwapOutResponse, _vswap_v1_SwapOutRequest__Output, _vswap_v1_SwapOutResponse__Output>
  Swapoff: MethodDefinition<_vswap_v1_SwapoffRequest, _vswap_v1_SwapoffProgress, _vswap_v1_SwapoffRequest__Output, _vswap_v1_SwapoffProgress__Output>
  Swapon: MethodDefinition<_vswap_v1_SwaponRequest, _vswap_v1_SwaponResponse, _vswap_v1_SwaponRequest__Output, _vswap_v1_SwaponResponse__Output>
  Writeback: MethodDefinition<_vswap_v1_WritebackRequest, _vswap_v1_WritebackResponse, _vswap_v1_WritebackRequest__Output, _vswap_v1_WritebackResponse__Output>
}
