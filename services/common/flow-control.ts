import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/**
 * HTTP/2 flow-control window of every vswap link, per stream and per
 * connection. HTTP/2 starts both at 64 KiB, so a 2 MiB batch of pages crosses
 * in 32 windows, each waiting a turn of the receiver's event loop for its
 * WINDOW_UPDATE: a 2 MiB echo between two processes ran at 130 MB/s with the
 * defaults and 430 MB/s with 1 MiB windows on both sides (same as 16 MiB).
 * 4 MiB holds one full batch of pages (`MAX_BATCH * PAGE_SIZE` is 2 MiB) with
 * room for a second in flight, without letting one peer queue much more than
 * the message limit in the receiver's memory.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

/** Private grpc-js fields used below; checked at run time, not trusted. */
interface GrpcServerInternals {
  commonServerOptions?: http2.ServerOptions;
  http2Servers?: Map<http2.Http2Server, unknown>;
}

/**
 * Widens a grpc-js server's receive windows to `bytes`. grpc-js has a channel
 * option for this (`grpc-node.flow_control_window`) but none for servers, so
 * this reaches into two of its private fields: the HTTP/2 settings it creates
 * its listeners with (the per-stream window, before `bindAsync`) and its
 * listeners (the connection window, raised on each new session). Returns
 * false, changing nothing, when a grpc-js upgrade moved those fields: links
 * then run at HTTP/2's default windows, slower but correct.
 */
export function widenServerStreamWindow(server: grpc.Server, bytes: number): boolean {
  const internals = server as unknown as GrpcServerInternals;
  const options = internals.commonServerOptions;
  if (options === undefined || typeof options !== 'object') return false;
  options.settings = { ...options.settings, initialWindowSize: bytes };
  return true;
}

/** After `bindAsync`: raises each new session's connection window to `bytes`. */
export function widenServerConnectionWindow(server: grpc.Server, bytes: number): boolean {
  const listeners = (server as unknown as GrpcServerInternals).http2Servers;
  if (!(listeners instanceof Map)) return false;
  for (const listener of listeners.keys()) {
    listener.on('session', (session: http2.ServerHttp2Session) => {
      // setLocalWindowSize sends the WINDOW_UPDATE; a session already closing throws.
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        /* closing: nothing to widen */
      }
    });
  }
  return listeners.size > 0;
}
