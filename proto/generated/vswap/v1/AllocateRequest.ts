// Original file: proto/vswap/v1/coordinator.proto


export interface AllocateRequest {
  'owner'?: (string);
  'count'?: (number);
  'contiguous'?: (boolean);
}

export interface AllocateRequest__Output {
  'owner': (string);
  'count': (number);
  'contiguous': (boolean);
}
