// Original file: proto/vswap/v1/coordinator.proto


export interface LoadResponse {
  'pages'?: (Buffer | Uint8Array | string)[];
  'counts'?: (number)[];
}

export interface LoadResponse__Output {
  'pages': (Buffer)[];
  'counts': (number)[];
}
