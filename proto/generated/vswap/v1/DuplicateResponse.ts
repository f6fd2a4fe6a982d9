// Original file: proto/vswap/v1/coordinator.proto


export interface DuplicateResponse {
  'counts'?: (number)[];
}

export interface DuplicateResponse__Output {
  'counts': (number)[];
}
