import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { Logger } from './logger';
import { toServiceError } from './errors';
import { MAX_MESSAGE_BYTES } from './limits';
import { LOADER_OPTIONS, PROTO_FILES } from './proto';
import { withdrawReady } from './ready';
import { FLOW_CONTROL_WINDOW_BYTES, widenServerConnectionWindow, widenServerStreamWindow } from './flow-control';

export interface ServiceBinding {
  /** Fully qualified service name, e.g. "vswap.v1.Backend" (health reports it). */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /**
   * Called when the server starts draining: ends the service's long-lived
   * streams (Backend.Link) once they have answered what they read, so that
   * the drain does not wait the whole grace period for them.
   */
  drain?: () => void;
}

export interface ServerOptions {
  /** host:port to bind; port 0 picks a free one. */
  address: string;
  services: ServiceBinding[];
  log: Logger;
  /** How long graceful shutdown waits for calls in flight; default 5000 ms. */
  gracePeriodMs?: number;
  /** Server interceptors, e.g. the gRPC metrics (ServiceMetrics.interceptors); default none. */
  interceptors?: grpc.ServerInterceptor[];
  /** The listener's credentials (TLS; see auth/listener.ts); default plaintext. */
  credentials?: grpc.ServerCredentials;
}

export type ServerStatus = 'starting' | 'serving' | 'draining' | 'stopped';

export interface RunningServer {
  /** The port actually bound. */
  readonly port: number;
  readonly address: string;
  readonly health: HealthImplementation;
  /** Drains calls in flight, then forces the rest after the grace period. */
  shutdown(): Promise<void>;
}

/**
 * Starts a gRPC server with the given services plus grpc.health.v1.Health and
 * server reflection, with message limits sized for a full batch of pages.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const gracePeriodMs = options.gracePeriodMs ?? 5000;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // channelz keeps per-call counters and traces for a channelz service, which vswap does not serve.
    'grpc.enable_channelz': 0,
    interceptors: options.interceptors ?? [],
  });
  const widened = widenServerStreamWindow(server, FLOW_CONTROL_WINDOW_BYTES);
  const health = new HealthImplementation({ '': 'SERVING' });
  for (const s of options.services) {
    server.addService(s.definition, s.implementation);
    health.setStatus(s.name, 'SERVING');
  }
  health.addToServer(server);
  // Reflection serves exactly the definition it is given: include the health
  // proto so that stock tools list it next to ours.
  const reflected = protoLoader.loadSync([...PROTO_FILES, healthProtoPath], LOADER_OPTIONS);
  new ReflectionService(reflected).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(new Error(`cannot listen on ${options.address}: ${err.message}`)) : resolve(p),
    );
  });
  if (!widened || !widenServerConnectionWindow(server, FLOW_CONTROL_WINDOW_BYTES)) {
    log.warn('cannot widen the HTTP/2 flow-control windows (grpc-js internals moved): links run at the 64 KiB default');
  }
  const host = options.address.slice(0, options.address.lastIndexOf(':'));
  const address = `${host}:${port}`;
  let status: ServerStatus = 'starting';
  const setStatus = (next: ServerStatus): void => {
    log.info({ from: status, to: next, address }, `server ${status} -> ${next}`);
    status = next;
  };
  setStatus('serving');

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      setStatus('draining');
      for (const s of options.services) health.setStatus(s.name, 'NOT_SERVING');
      health.setStatus('', 'NOT_SERVING');
      for (const s of options.services) s.drain?.();
      let done = false;
      const stopped = (): void => {
        if (done) return;
        done = true;
        clearTimeout(force);
        setStatus('stopped');
        resolve();
      };
      const force = setTimeout(() => {
        log.warn({ gracePeriodMs }, 'grace period over: cancelling calls still in flight');
        server.forceShutdown();
        // tryShutdown's callback waits for every connection to close, and a peer
        // that does not read (a paused or blocked client) keeps its own open even
        // after forceShutdown: the stop must not wait for it.
        stopped();
      }, gracePeriodMs);
      force.unref();
      server.tryShutdown(stopped);
    });
    return stopping;
  };
  return { port, address, health, shutdown };
}

/** Wraps an async unary handler: a thrown error becomes a status via toServiceError. */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, log, method)),
      );
  };
}

/**
 * Wraps an async server-streaming handler. `send` respects back-pressure: it
 * resolves once the stream can take more.
 */
export function serverStreaming<Req, Res>(
  log: Logger,
  method: string,
  fn: (request: Req, send: (msg: Res) => Promise<void>, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const send = (msg: Res): Promise<void> =>
      new Promise((resolve) => {
        if (call.write(msg)) resolve();
        else call.once('drain', () => resolve());
      });
    fn(call.request, send, call).then(
      () => call.end(),
      (err: unknown) => call.emit('error', toServiceError(err, log, method)),
    );
  };
}

/**
 * Runs a service until SIGINT or SIGTERM, then stops it (drain, close
 * resources) and exits. A failure to start is printed as one line, exit 1.
 */
export function runMain(name: string, main: () => Promise<{ stop(): Promise<void> }>): void {
  withdrawReady();
  main().then(
    (running) => {
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        withdrawReady();
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`${name}: error while stopping after ${signal}: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // A service started by a cluster launcher or a test stops when its
      // parent dies (it gets re-parented), so a killed launcher leaves no
      // orphans. Under an init system or in a container the parent never changes.
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid !== parent) onSignal('SIGTERM');
      }, 1000);
      watch.unref();
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
