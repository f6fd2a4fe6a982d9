/**
 * A small TCP proxy between the coordinator and a backend, to make the
 * network misbehave at the transport: delay every chunk, blackhole the link
 * (a partition: bytes stop flowing both ways and new connections hang, and
 * resume when it heals, as TCP retransmission would deliver them), or reset
 * connections (RST now, and every new connection while the fault lasts).
 * Bytes are never dropped from the middle of a stream: TCP does not do that,
 * and HTTP/2 framing would turn it into garbage rather than a network fault.
 */
import * as net from 'node:net';

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'blackhole' } | { kind: 'reset' };

export interface TcpProxyOptions {
  /** host:port to forward to. */
  target: string;
  /** Port to listen on (127.0.0.1); default a free one. */
  port?: number;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Chunks waiting out a delay or a blackhole, per direction, in order. */
  queues: { toUpstream: Queued[]; toClient: Queued[] };
  timer: NodeJS.Timeout | undefined;
}

interface Queued {
  /** Not to be sent before this time (ms since the epoch). */
  due: number;
  chunk: Buffer;
}

export class TcpProxy {
  private mode: ProxyMode = { kind: 'pass' };
  private readonly links = new Set<Link>();
  /** Connections accepted during a blackhole, connected upstream when it heals. */
  private held: Link[] = [];
  /** Connections frozen by stallLinks(), closed only with the proxy. */
  private readonly stalled: Link[] = [];
  private readonly targetHost: string;
  private readonly targetPort: number;
  /** Connections accepted, and reset by the proxy, for the history. */
  readonly counts = { connections: 0, resets: 0 };

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    target: string,
  ) {
    const i = target.lastIndexOf(':');
    this.targetHost = target.slice(0, i);
    this.targetPort = Number(target.slice(i + 1));
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    const proxy = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0, options.target);
    server.on('connection', (sock) => proxy.accept(sock));
    return proxy;
  }

  /**
   * Freezes the connections open now for good, as half-open TCP connections
   * (the peer vanished without a FIN or RST): bytes sent on them are taken
   * and never delivered, nothing comes back, and they are not closed. New
   * connections pass as the mode says. The client notices only by its own
   * means (deadlines, keepalive pings).
   */
  stallLinks(): number {
    const stalled = [...this.links];
    for (const l of stalled) {
      this.links.delete(l);
      if (l.timer) clearTimeout(l.timer);
      l.client.removeAllListeners('data');
      l.upstream?.removeAllListeners('data');
      l.client.on('data', () => {});
      l.upstream?.on('data', () => {});
      this.stalled.push(l);
    }
    return stalled.length;
  }

  /** Sets how the link behaves from now on; leaving a blackhole delivers what waited. */
  setMode(mode: ProxyMode): void {
    const was = this.mode;
    this.mode = mode;
    if (mode.kind === 'reset') {
      for (const l of [...this.links]) this.resetLink(l);
      return;
    }
    if (was.kind === 'blackhole' && mode.kind !== 'blackhole') {
      const held = this.held;
      this.held = [];
      for (const l of held) this.connectUpstream(l);
      for (const l of this.links) this.drainQueues(l);
    }
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  async close(): Promise<void> {
    for (const l of [...this.links]) this.destroyLink(l);
    for (const l of this.stalled.splice(0)) {
      l.client.destroy();
      l.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.counts.connections++;
    client.setNoDelay(true);
    const link: Link = { client, upstream: undefined, queues: { toUpstream: [], toClient: [] }, timer: undefined };
    this.links.add(link);
    client.on('error', () => this.destroyLink(link));
    client.on('close', () => this.destroyLink(link));
    client.on('data', (d: Buffer) => this.forward(link, 'toUpstream', d));
    if (this.mode.kind === 'reset') return this.resetLink(link);
    if (this.mode.kind === 'blackhole') this.held.push(link);
    else this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    if (!this.links.has(link)) return;
    const up = net.connect(this.targetPort, this.targetHost);
    up.setNoDelay(true);
    link.upstream = up;
    up.on('data', (d: Buffer) => this.forward(link, 'toClient', d));
    up.on('error', () => this.resetLink(link));
    up.on('close', () => this.destroyLink(link));
    up.on('connect', () => this.drainQueues(link));
  }

  private forward(link: Link, dir: 'toUpstream' | 'toClient', chunk: Buffer): void {
    const mode = this.mode;
    const q = link.queues[dir];
    const due = mode.kind === 'delay' ? Date.now() + mode.ms : 0;
    if (
      mode.kind === 'pass' &&
      q.length === 0 &&
      !(dir === 'toUpstream' && (!link.upstream || link.upstream.connecting))
    ) {
      this.write(link, dir, chunk);
      return;
    }
    q.push({ due, chunk });
    this.drainQueues(link);
  }

  /** Sends queued chunks in order (after a delay or when a blackhole heals). */
  private drainQueues(link: Link): void {
    if (this.mode.kind === 'blackhole' || !this.links.has(link)) return;
    const now = Date.now();
    let next = Infinity;
    for (const dir of ['toUpstream', 'toClient'] as const) {
      if (dir === 'toUpstream' && (!link.upstream || link.upstream.connecting)) continue;
      const q = link.queues[dir];
      while (q.length > 0 && q[0]!.due <= now) this.write(link, dir, q.shift()!.chunk);
      if (q.length > 0) next = Math.min(next, q[0]!.due);
    }
    if (next !== Infinity && !link.timer) {
      link.timer = setTimeout(() => {
        link.timer = undefined;
        this.drainQueues(link);
      }, next - now);
      link.timer.unref();
    }
  }

  private write(link: Link, dir: 'toUpstream' | 'toClient', chunk: Buffer): void {
    const to = dir === 'toUpstream' ? link.upstream : link.client;
    if (to && !to.destroyed) to.write(chunk);
  }

  private resetLink(link: Link): void {
    if (!this.links.has(link)) return;
    this.counts.resets++;
    link.client.resetAndDestroy();
    link.upstream?.resetAndDestroy();
    this.forget(link);
  }

  private destroyLink(link: Link): void {
    if (!this.links.has(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
    this.forget(link);
  }

  private forget(link: Link): void {
    if (link.timer) clearTimeout(link.timer);
    this.links.delete(link);
    this.held = this.held.filter((l) => l !== link);
  }
}
