// Original file: proto/vswap/v1/backend.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}
