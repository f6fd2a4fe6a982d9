// Original file: proto/vswap/v1/coordinator.proto


export interface AllocateRequest {
  'owner'?: (string);
  'count'?: (number);
  'contiguous'?: (boolean);
  'requestId'?: (string);
}

export interface AllocateRequest__Output {
  'owner': (string);
  'count': (number);
  'contiguous': (boolean);
  'requestId': (string);
}
