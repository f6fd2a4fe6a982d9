import type * as grpc from '@grpc/grpc-js';

/**
 * Calls a unary gRPC handler in-process as grpc-js would, with a call object
 * that is never cancelled: for tests that drive the coordinator's service
 * layer without a server (e.g. to stop it between a commit and its reply).
 */
export function invokeUnary<Res>(handler: unknown, request: object): Promise<Res> {
  const call = {
    request,
    cancelled: false,
    once: () => call,
    removeListener: () => call,
    getDeadline: () => Infinity,
    metadata: undefined,
  };
  return new Promise((resolve, reject) =>
    (handler as grpc.handleUnaryCall<object, Res>)(
      call as unknown as grpc.ServerUnaryCall<object, Res>,
      (err: Partial<grpc.ServiceError> | null, res?: Res | null) => (err ? reject(err as Error) : resolve(res as Res)),
    ),
  );
}
