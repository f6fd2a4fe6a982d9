// Original file: proto/vswap/v1/coordinator.proto


export interface WritebackResponse {
  'written'?: (number);
}

export interface WritebackResponse__Output {
  'written': (number);
}
