// Original file: proto/vswap/v1/backend.proto


export interface LinkError {
  'code'?: (number);
  'message'?: (string);
}

export interface LinkError__Output {
  'code': (number);
  'message': (string);
}
