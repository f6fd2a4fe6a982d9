// Original file: proto/vswap/v1/backend.proto


export interface ColdestRequest {
  'maxEntries'?: (number);
}

export interface ColdestRequest__Output {
  'maxEntries': (number);
}
