/**
 * gRPC server metrics under the names the ecosystem uses (go-grpc-prometheus,
 * grpc-ecosystem): grpc_server_started_total, grpc_server_handled_total and
 * the grpc_server_handling_seconds histogram, labelled by service, method,
 * call type and (when handled) status code. One interceptor on the server.
 * The calls a Backend.Link stream carries (link-server.ts) are counted one by
 * one under their own method (Put, Get, Delete) with grpc_type "link", so
 * that per-method rates and latencies do not vanish into one long stream.
 */
import * as grpc from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

type Labels = { grpc_service: string; grpc_method: string; grpc_type: string };

/** Seconds; batches of up to 512 pages take from well under a millisecond to seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counts and times one call a Backend.Link carried: its method, status and seconds from read to answer. */
export type LinkCallObserver = (method: string, code: grpc.status, seconds: number) => void;

export interface GrpcServerMetrics {
  interceptor: grpc.ServerInterceptor;
  observeLinkCall: LinkCallObserver;
}

export function grpcServerMetrics(registry: Registry): GrpcServerMetrics {
  const labelNames = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
  const started = new Counter({
    name: 'grpc_server_started_total',
    help: 'RPCs started on the server',
    labelNames,
    registers: [registry],
  });
  const handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'RPCs completed on the server, whatever their status',
    labelNames: [...labelNames, 'grpc_code'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'time from the start of an RPC to its status, in seconds',
    labelNames,
    buckets: BUCKETS,
    registers: [registry],
  });
  /** Label objects per method path, built once (no per-call parsing). */
  const byPath = new Map<string, Labels>();
  const labelsOf = (method: grpc.ServerMethodDefinition<unknown, unknown>): Labels => {
    let l = byPath.get(method.path);
    if (!l) {
      const m = /^\/([^/]+)\/([^/]+)$/.exec(method.path);
      const type = method.requestStream
        ? method.responseStream
          ? 'bidi_stream'
          : 'client_stream'
        : method.responseStream
          ? 'server_stream'
          : 'unary';
      l = { grpc_service: m?.[1] ?? 'unknown', grpc_method: m?.[2] ?? method.path, grpc_type: type };
      byPath.set(method.path, l);
    }
    return l;
  };
  /** A call's end: its status and how long it took. */
  const ended = (labels: Labels, code: grpc.status, secs: number): void => {
    handled.inc({ ...labels, grpc_code: grpc.status[code] ?? String(code) });
    seconds.observe(labels, secs);
  };
  const linkLabels = new Map<string, Labels>();
  const observeLinkCall: LinkCallObserver = (method, code, secs) => {
    let labels = linkLabels.get(method);
    if (!labels) {
      labels = { grpc_service: 'vswap.v1.Backend', grpc_method: method, grpc_type: 'link' };
      linkLabels.set(method, labels);
    }
    started.inc(labels);
    ended(labels, code, secs);
  };
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const labels = labelsOf(method);
    started.inc(labels);
    const t0 = process.hrtime.bigint();
    let done = false;
    const finish = (code: grpc.status): void => {
      if (done) return;
      done = true;
      ended(labels, code, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        // A call the client cancelled (or whose deadline passed) gets no status from the handler.
        next({ onCancel: () => finish(grpc.status.CANCELLED) });
      },
      sendStatus(status, next) {
        finish(status.code);
        next(status);
      },
    });
  };
  return { interceptor, observeLinkCall };
}
