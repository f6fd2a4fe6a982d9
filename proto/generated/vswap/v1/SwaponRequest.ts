// Original file: proto/vswap/v1/coordinator.proto


export interface SwaponRequest {
  'backend'?: (string);
  'priority'?: (number);
}

export interface SwaponRequest__Output {
  'backend': (string);
  'priority': (number);
}
