// Original file: proto/vswap/v1/backend.proto


export interface GetResponse {
  'pages'?: (Buffer | Uint8Array | string)[];
}

export interface GetResponse__Output {
  'pages': (Buffer)[];
}
