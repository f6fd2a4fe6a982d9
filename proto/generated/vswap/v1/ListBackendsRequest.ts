// Original file: proto/vswap/v1/coordinator.proto


export interface ListBackendsRequest {
}

export interface ListBackendsRequest__Output {
}
