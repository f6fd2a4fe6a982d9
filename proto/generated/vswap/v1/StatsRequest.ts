// Original file: proto/vswap/v1/coordinator.proto


export interface StatsRequest {
  'owner'?: (string);
}

export interface StatsRequest__Output {
  'owner': (string);
}
