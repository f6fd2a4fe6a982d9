import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AllocateRequest as _vswap_v1_AllocateRequest, AllocateRequest__Output as _vswap_v1_AllocateRequest__Output } from './vswap/v1/AllocateRequest';
import type { AllocateResponse as _vswap_v1_AllocateResponse, AllocateResponse__Output as _vswap_v1_AllocateResponse__Output } from './vswap/v1/AllocateResponse';
import type { BackendInfo as _vswap_v1_BackendInfo, BackendInfo__Output as _vswap_v1_BackendInfo__Output } from './vswap/v1/BackendInfo';
import type { Counter as _vswap_v1_Counter, Counter__Output as _vswap_v1_Counter__Output } from './vswap/v1/Counter';
import type { DuplicateRequest as _vswap_v1_DuplicateRequest, DuplicateRequest__Output as _vswap_v1_DuplicateRequest__Output } from './vswap/v1/DuplicateRequest';
import type { DuplicateResponse as _vswap_v1_DuplicateResponse, DuplicateResponse__Output as _vswap_v1_DuplicateResponse__Output } from './vswap/v1/DuplicateResponse';
import type { FreeRequest as _vswap_v1_FreeRequest, FreeRequest__Output as _vswap_v1_FreeRequest__Output } from './vswap/v1/FreeRequest';
import type { FreeResponse as _vswap_v1_FreeResponse, FreeResponse__Output as _vswap_v1_FreeResponse__Output } from './vswap/v1/FreeResponse';
import type { InspectRequest as _vswap_v1_InspectRequest, InspectRequest__Output as _vswap_v1_InspectRequest__Output } from './vswap/v1/InspectRequest';
import type { InspectResponse as _vswap_v1_InspectResponse, InspectResponse__Output as _vswap_v1_InspectResponse__Output } from './vswap/v1/InspectResponse';
import type { JournalStats as _vswap_v1_JournalStats, JournalStats__Output as _vswap_v1_JournalStats__Output } from './vswap/v1/JournalStats';
import type { ListBackendsRequest as _vswap_v1_ListBackendsRequest, ListBackendsRequest__Output as _vswap_v1_ListBackendsRequest__Output } from './vswap/v1/ListBackendsRequest';
import type { ListBackendsResponse as _vswap_v1_ListBackendsResponse, ListBackendsResponse__Output as _vswap_v1_ListBackendsResponse__Output } from './vswap/v1/ListBackendsResponse';
import type { LoadRequest as _vswap_v1_LoadRequest, LoadRequest__Output as _vswap_v1_LoadRequest__Output } from './vswap/v1/LoadRequest';
import type { LoadResponse as _vswap_v1_LoadResponse, LoadResponse__Output as _vswap_v1_LoadResponse__Output } from './vswap/v1/LoadResponse';
import type { OwnerPolicy as _vswap_v1_OwnerPolicy, OwnerPolicy__Output as _vswap_v1_OwnerPolicy__Output } from './vswap/v1/OwnerPolicy';
import type { OwnerStats as _vswap_v1_OwnerStats, OwnerStats__Output as _vswap_v1_OwnerStats__Output } from './vswap/v1/OwnerStats';
import type { SlotInfo as _vswap_v1_SlotInfo, SlotInfo__Output as _vswap_v1_SlotInfo__Output } from './vswap/v1/SlotInfo';
import type { StatsRequest as _vswap_v1_StatsRequest, StatsRequest__Output as _vswap_v1_StatsRequest__Output } from './vswap/v1/StatsRequest';
import type { StatsResponse as _vswap_v1_StatsResponse, StatsResponse__Output as _vswap_v1_StatsResponse__Output } from './vswap/v1/StatsResponse';
import type { StoreRequest as _vswap_v1_StoreRequest, StoreRequest__Output as _vswap_v1_StoreRequest__Output } from './vswap/v1/StoreRequest';
import type { StoreResponse as _vswap_v1_StoreResponse, StoreResponse__Output as _vswap_v1_StoreResponse__Output } from './vswap/v1/StoreResponse';
import type { SwapOutRequest as _vswap_v1_SwapOutRequest, SwapOutRequest__Output as _vswap_v1_SwapOutRequest__Output } from './vswap/v1/SwapOutRequest';
import type { SwapOutResponse as _vswap_v1_SwapOutResponse, SwapOutResponse__Output as _vswap_v1_SwapOutResponse__Output } from './vswap/v1/SwapOutResponse';
import type { SwapoffProgress as _vswap_v1_SwapoffProgress, SwapoffProgress__Output as _vswap_v1_SwapoffProgress__Output } from './vswap/v1/SwapoffProgress';
import type { SwapoffRequest as _vswap_v1_SwapoffRequest, SwapoffRequest__Output as _vswap_v1_SwapoffRequest__Output } from './vswap/v1/SwapoffRequest';
import type { SwaponRequest as _vswap_v1_SwaponRequest, SwaponRequest__Output as _vswap_v1_SwaponRequest__Output } from './vswap/v1/SwaponRequest';
import type { SwaponResponse as _vswap_v1_SwaponResponse, SwaponResponse__Output as _vswap_v1_SwaponResponse__Output } from './vswap/v1/SwaponResponse';
import type { VirtualSwapClient as _vswap_v1_VirtualSwapClient, VirtualSwapDefinition as _vswap_v1_VirtualSwapDefinition } from './vswap/v1/VirtualSwap';
import type { WritebackRequest as _vswap_v1_WritebackRequest, WritebackRequest__Output as _vswap_v1_WritebackRequest__Output } from './vswap/v1/WritebackRequest';
import type { WritebackResponse as _vswap_v1_WritebackResponse, WritebackResponse__Output as _vswap_v1_WritebackResponse__Output } from './vswap/v1/WritebackResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  vswap: {
    v1: {
      AllocateRequest: MessageTypeDefinition<_vswap_v1_AllocateRequest, _vswap_v1_AllocateRequest__Output>
      AllocateResponse: MessageTypeDefinition<_vswap_v1_AllocateResponse, _vswap_v1_AllocateResponse__Output>
      BackendInfo: MessageTypeDefinition<_vswap_v1_BackendInfo, _vswap_v1_BackendInfo__Output>
      Counter: MessageTypeDefinition<_vswap_v1_Counter, _vswap_v1_Counter__Output>
      DuplicateRequest: MessageTypeDefinition<_vswap_v1_DuplicateRequest, _vswap_v1_DuplicateRequest__Output>
      DuplicateResponse: MessageTypeDefinition<_vswap_v1_DuplicateResponse, _vswap_v1_DuplicateResponse__Output>
      FreeRequest: MessageTypeDefinition<_vswap_v1_FreeRequest, _vswap_v1_FreeRequest__Output>
      FreeResponse: MessageTypeDefinition<_vswap_v1_FreeResponse, _vswap_v1_FreeResponse__Output>
      InspectRequest: MessageTypeDefinition<_vswap_v1_InspectRequest, _vswap_v1_InspectRequest__Output>
      InspectResponse: MessageTypeDefinition<_vswap_v1_InspectResponse, _vswap_v1_InspectResponse__Output>
      JournalStats: MessageTypeDefinition<_vswap_v1_JournalStats, _vswap_v1_JournalStats__Output>
      ListBackendsRequest: MessageTypeDefinition<_vswap_v1_ListBackendsRequest, _vswap_v1_ListBackendsRequest__Output>
      ListBackendsResponse: MessageTypeDefinition<_vswap_v1_ListBackendsResponse, _vswap_v1_ListBackendsResponse__Output>
      LoadRequest: MessageTypeDefinition<_vswap_v1_LoadRequest, _vswap_v1_LoadRequest__Output>
      LoadResponse: MessageTypeDefinition<_vswap_v1_LoadResponse, _vswap_v1_LoadResponse__Output>
      OwnerPolicy: MessageTypeDefinition<_vswap_v1_OwnerPolicy, _vswap_v1_OwnerPolicy__Output>
      OwnerStats: MessageTypeDefinition<_vswap_v1_OwnerStats, _vswap_v1_OwnerStats__Output>
      SlotInfo: MessageTypeDefinition<_vswap_v1_SlotInfo, _vswap_v1_SlotInfo__Output>
      StatsRequest: MessageTypeDefinition<_vswap_v1_StatsRequest, _vswap_v1_StatsRequest__Output>
      StatsResponse: MessageTypeDefinition<_vswap_v1_StatsResponse, _vswap_v1_StatsResponse__Output>
      StoreRequest: MessageTypeDefinition<_vswap_v1_StoreRequest, _vswap_v1_StoreRequest__Output>
      StoreResponse: MessageTypeDefinition<_vswap_v1_StoreResponse, _vswap_v1_StoreResponse__Output>
      SwapOutRequest: MessageTypeDefinition<_vswap_v1_SwapOutRequest, _vswap_v1_SwapOutRequest__Output>
      SwapOutResponse: MessageTypeDefinition<_vswap_v1_SwapOutResponse, _vswap_v1_SwapOutResponse__Output>
      SwapoffProgress: MessageTypeDefinition<_vswap_v1_SwapoffProgress, _vswap_v1_SwapoffProgress__Output>
      SwapoffRequest: MessageTypeDefinition<_vswap_v1_SwapoffRequest, _vswap_v1_SwapoffRequest__Output>
      SwaponRequest: MessageTypeDefinition<_vswap_v1_SwaponRequest, _vswap_v1_SwaponRequest__Output>
      SwaponResponse: MessageTypeDefinition<_vswap_v1_SwaponResponse, _vswap_v1_SwaponResponse__Output>
      Tier: EnumTypeDefinition
      VirtualSwap: SubtypeConstructor<typeof grpc.Client, _vswap_v1_VirtualSwapClient> & { service: _vswap_v1_VirtualSwapDefinition }
      WritebackRequest: MessageTypeDefinition<_vswap_v1_WritebackRequest, _vswap_v1_WritebackRequest__Output>
      WritebackResponse: MessageTypeDefinition<_vswap_v1_WritebackResponse, _vswap_v1_WritebackResponse__Output>
    }
  }
}

