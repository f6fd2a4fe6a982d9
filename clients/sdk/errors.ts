import { status as Status, type ServiceError } from '@grpc/grpc-js';

/** Every SDK failure: the gRPC code, its name, and the slots of the request that failed. */
export class VswapClientError extends Error {
  override readonly name = 'VswapClientError';
  /** e.g. "NOT_FOUND". */
  readonly codeName: string;
  constructor(
    readonly code: Status,
    message: string,
    /** Slots of the request (chunk) that failed; empty when none were involved. */
    readonly slots: readonly number[] = [],
  ) {
    super(message);
    this.codeName = Status[code] ?? String(code);
  }

  static from(err: unknown, slots: readonly number[] = []): VswapClientError {
    if (err instanceof VswapClientError) return err;
    const se = err as Partial<ServiceError>;
    if (typeof se.code === 'number')
      return new VswapClientError(se.code, se.details || se.message || Status[se.code] || 'error', slots);
    return new VswapClientError(Status.UNKNOWN, err instanceof Error ? err.message : String(err), slots);
  }
}
