// Original file: proto/vswap/v1/coordinator.proto


export interface FreeResponse {
  'counts'?: (number)[];
}

export interface FreeResponse__Output {
  'counts': (number)[];
}
