// Original file: proto/vswap/v1/coordinator.proto


export interface SwapoffRequest {
  'backend'?: (string);
}

export interface SwapoffRequest__Output {
  'backend': (string);
}
