// Original file: proto/vswap/v1/coordinator.proto


export interface WritebackRequest {
  'maxPages'?: (number);
  'owner'?: (string);
}

export interface WritebackRequest__Output {
  'maxPages': (number);
  'owner': (string);
}
