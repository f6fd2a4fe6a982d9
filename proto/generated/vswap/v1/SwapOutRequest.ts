// Original file: proto/vswap/v1/coordinator.proto


export interface SwapOutRequest {
  'owner'?: (string);
  'pages'?: (Buffer | Uint8Array | string)[];
  'contiguous'?: (boolean);
  'requestId'?: (string);
}

export interface SwapOutRequest__Output {
  'owner': (string);
  'pages': (Buffer)[];
  'contiguous': (boolean);
  'requestId': (string);
}
