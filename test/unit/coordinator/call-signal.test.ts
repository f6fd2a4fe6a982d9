import { EventEmitter } from 'node:events';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import {
  CALLER_CANCELLED,
  DEADLINE_PASSED,
  type CallerSignal,
  callSignal,
} from '../../../services/coordinator/call-context';
import { RequestLog, requestDigest } from '../../../services/coordinator/request-log';

/** What callSignal reads of a grpc-js server call. */
class FakeCall extends EventEmitter {
  cancelled = false;
  constructor(private readonly deadline: Date | number) {
    super();
  }
  getDeadline(): Date | number {
    return this.deadline;
  }
  /** As grpc-js's server does when the client cancels: the flag, then the event. */
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
  }
}

const reasonCode = (s: CallerSignal): Status | undefined =>
  s.reason instanceof VswapError ? s.reason.code : undefined;

describe('callSignal: why a call gave up is the status it answers', () => {
  it('its deadline passing aborts it as DEADLINE_EXCEEDED', async () => {
    const c = callSignal(new FakeCall(new Date(Date.now() + 20)));
    await new Promise((r) => c.signal.addEventListener('abort', r, { once: true }));
    expect(reasonCode(c.signal)).toBe(Status.DEADLINE_EXCEEDED);
    c.done();
  });

  it("grpc-js's 'cancelled' before the deadline is CANCELLED; after it (the timer late), DEADLINE_EXCEEDED", () => {
    const early = new FakeCall(Date.now() + 60_000);
    const a = callSignal(early);
    a.signal.addEventListener('abort', () => undefined);
    early.cancel();
    expect(reasonCode(a.signal)).toBe(Status.CANCELLED);
    a.done();
    const late = new FakeCall(Date.now() - 1);
    late.cancelled = true;
    const b = callSignal(late);
    expect(reasonCode(b.signal)).toBe(Status.DEADLINE_EXCEEDED);
    b.done();
  });

  it('a call without a deadline has none and is aborted only by cancellation; done() leaves no listener', () => {
    const call = new FakeCall(Infinity);
    const c = callSignal(call);
    expect(c.deadline).toBeUndefined();
    expect(c.signal.aborted).toBe(false);
    c.done();
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('answers aborted and its reason without a listener, and makes no listener or timer until one is added', () => {
    const call = new FakeCall(Date.now() + 60_000);
    const c = callSignal(call);
    expect(c.signal.aborted).toBe(false);
    expect(c.signal.reason).toBeUndefined();
    expect(call.listenerCount('cancelled')).toBe(0);
    call.cancel();
    expect(c.signal.aborted).toBe(true);
    expect(reasonCode(c.signal)).toBe(Status.CANCELLED);
    c.done();
    const late = callSignal(new FakeCall(Date.now() - 1));
    expect(late.signal.aborted).toBe(true);
    expect(reasonCode(late.signal)).toBe(Status.DEADLINE_EXCEEDED);
    late.done();
  });

  it('a listener added after the caller went away finds the signal aborted, with its reason', () => {
    const call = new FakeCall(Date.now() + 60_000);
    const c = callSignal(call);
    call.cancel();
    c.signal.addEventListener('abort', () => undefined);
    expect(c.signal.aborted).toBe(true);
    expect(reasonCode(c.signal)).toBe(Status.CANCELLED);
    c.done();
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});

describe('a retry waiting for the first call with its request_id', () => {
  it('answers with its own reason for giving up: DEADLINE_EXCEEDED or CANCELLED', async () => {
    const log = new RequestLog({ log: pino({ level: 'silent' }) });
    let finish!: () => void;
    const first = log.run(
      { method: 'Free', owner: 'o', requestId: 'r', digest: requestDigest('Free', ['o', [1]]) },
      undefined,
      () => new Promise<number[]>((resolve) => (finish = () => resolve([0]))),
      (v) => v.length,
    );
    const retry = (reason: VswapError): Promise<unknown> => {
      const ac = new AbortController();
      const p = log.run(
        { method: 'Free', owner: 'o', requestId: 'r', digest: requestDigest('Free', ['o', [1]]) },
        ac.signal,
        () => Promise.reject(new Error('a retry must not apply the call again')),
        () => 0,
      );
      ac.abort(reason);
      return p;
    };
    await expect(retry(DEADLINE_PASSED())).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await expect(retry(CALLER_CANCELLED())).rejects.toMatchObject({ code: Status.CANCELLED });
    finish();
    expect(await first).toEqual([0]);
  });
});
