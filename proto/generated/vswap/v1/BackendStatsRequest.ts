// Original file: proto/vswap/v1/backend.proto


export interface BackendStatsRequest {
}

export interface BackendStatsRequest__Output {
}
