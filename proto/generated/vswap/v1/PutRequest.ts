// Original file: proto/vswap/v1/backend.proto


export interface PutRequest {
  'pages'?: (Buffer | Uint8Array | string)[];
}

export interface PutRequest__Output {
  'pages': (Buffer)[];
}
