import { status as Status, type ServiceError, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';

export type StatusCode = Status;

/**
 * The one error type handlers throw. It carries the gRPC status the caller
 * gets and a message that says what was wrong; anything else thrown inside a
 * handler is a bug and reaches the caller as UNKNOWN with a generic message.
 */
export class VswapError extends Error {
  override readonly name = 'VswapError';
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (msg: string): VswapError => new VswapError(Status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): VswapError => new VswapError(Status.NOT_FOUND, msg);
export const permissionDenied = (msg: string): VswapError => new VswapError(Status.PERMISSION_DENIED, msg);
export const failedPrecondition = (msg: string): VswapError => new VswapError(Status.FAILED_PRECONDITION, msg);
export const resourceExhausted = (msg: string): VswapError => new VswapError(Status.RESOURCE_EXHAUSTED, msg);
export const unavailable = (msg: string): VswapError => new VswapError(Status.UNAVAILABLE, msg);
export const dataLoss = (msg: string): VswapError => new VswapError(Status.DATA_LOSS, msg);

/**
 * A status as grpc-js reports a failed call to its caller (code, details,
 * metadata), for errors made on the caller's side of a call: what a request
 * on a backend link or an interceptor's refusal answers.
 */
export function statusError(code: Status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${Status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** A gRPC error received from a peer (it carries a numeric `code`). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/**
 * Maps anything a handler threw to the status sent to the caller. VswapError
 * and errors from peers keep their code and message; everything else is
 * logged with its details and becomes UNKNOWN with a generic message.
 */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  if (err instanceof VswapError) {
    return { code: err.code, details: err.message, metadata: new Metadata() };
  }
  if (isServiceError(err) && err.code !== Status.UNKNOWN) {
    return { code: err.code, details: err.details, metadata: new Metadata() };
  }
  log.error({ err, method }, 'unexpected error in handler');
  return { code: Status.UNKNOWN, details: 'internal error', metadata: new Metadata() };
}
