/**
 * Prometheus metrics of a service: one prom-client registry per process with
 * the default process metrics, served over HTTP at /metrics when the service's
 * --metrics-listen is set (off by default: nothing listens, no interceptor runs).
 * Service figures are read when scraped (collect callbacks over the counters
 * the services keep anyway), so the data path pays nothing per page.
 */
import * as http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type * as grpc from '@grpc/grpc-js';
import { address, optional, type OptionSpec } from './config';
import type { Logger } from './logger';
import { grpcServerMetrics, type LinkCallObserver } from './metrics-grpc';

/** The --metrics-listen option every service has (empty = no metrics endpoint). */
export function metricsListenOption(): OptionSpec<string | undefined> {
  return optional(address('address to serve Prometheus metrics on over HTTP, path /metrics (empty = off)', undefined));
}

export interface ServiceMetrics {
  readonly registry: Registry;
  /** gRPC server interceptors counting and timing every call (pass to startServer). */
  readonly interceptors: grpc.ServerInterceptor[];
  /** Counts and times each call a Backend.Link carries (pass to the link server). */
  readonly observeLinkCall: LinkCallObserver;
}

/** A registry with the default process metrics and the gRPC server metrics. */
export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const grpcMetrics = grpcServerMetrics(registry);
  return { registry, interceptors: [grpcMetrics.interceptor], observeLinkCall: grpcMetrics.observeLinkCall };
}

export interface MetricsServer {
  /** host:port actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves GET /metrics from `registry` on host:port (port 0 picks one). */
export async function startMetricsServer(options: {
  address: string;
  registry: Registry;
  log: Logger;
}): Promise<MetricsServer> {
  const { registry, log } = options;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method !== 'GET' || (url !== '/metrics' && !url.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are served at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.warn({ err: String(err) }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  // A scraper keeps its connection open between scrapes; it must not hold up a stop.
  server.keepAliveTimeout = 5000;
  const sep = options.address.lastIndexOf(':');
  const host = options.address.slice(0, sep);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${options.address}: ${err.message}`)));
    server.listen(Number(options.address.slice(sep + 1)), host, () => resolve());
  });
  const bound = server.address();
  const addr = `${host}:${typeof bound === 'object' && bound ? bound.port : 0}`;
  log.info({ address: addr }, 'serving metrics at /metrics');
  return {
    address: addr,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A counter or gauge whose value is read from the service when scraped.
 * `read` returns one value, or one value per label set (labels as an object).
 */
export function metricFrom<L extends string>(
  registry: Registry,
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  read: () => number | readonly (readonly [Partial<Record<L, string>>, number])[],
  labelNames: readonly L[] = [],
): void {
  function collect(this: Counter<L> | Gauge<L>): void {
    const v = read();
    this.reset();
    const put = (labels: Partial<Record<L, string>>, value: number): void => {
      if (this instanceof Counter) this.inc(labels, value);
      else this.set(labels, value);
    };
    if (typeof v !== 'number') for (const [labels, value] of v) put(labels, value);
    else if (this instanceof Counter) this.inc(v);
    else this.set(v);
  }
  const config = { name, help, labelNames, registers: [registry], collect };
  if (kind === 'counter') new Counter<L>(config);
  else new Gauge<L>(config);
}
