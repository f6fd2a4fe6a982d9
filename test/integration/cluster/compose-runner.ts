/**
 * Runs the services of docker-compose.yml as local processes, as Docker would
 * run them, minus Docker: the same commands (from the repo root, the image's
 * WORKDIR), the same environment, the same health checks. Service host names
 * become 127.0.0.1, every port is remapped to a free one, named volumes
 * become temporary directories, and the redis service is a real
 * redis-server with the compose file's arguments. A one-shot service (no
 * port, no health check, `restart: "no"`: the credentials) runs to its end
 * before the services that wait for it (service_completed_successfully). Services of other images
 * (Prometheus) are not run here: `npm run test:compose` runs them under Docker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../../support/ports';
import { stopChild } from '../../support/redis';
import { REPO_ROOT } from '../../support/service';

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  ports?: string[];
  stop_grace_period?: string;
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readCompose(file = path.join(REPO_ROOT, 'docker-compose.yml')): ComposeFile {
  return parse(fs.readFileSync(file, 'utf8')) as ComposeFile;
}

/** The environment as a map, whichever of compose's two forms it is written in. */
export function environmentOf(svc: ComposeService): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(svc.environment)) {
    for (const kv of svc.environment) {
      const at = kv.indexOf('=');
      if (at > 0) out[kv.slice(0, at)] = kv.slice(at + 1);
    }
  } else {
    for (const [k, v] of Object.entries(svc.environment ?? {})) out[k] = v === null ? '' : String(v);
  }
  return out;
}

export function dependenciesOf(svc: ComposeService): string[] {
  return Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
}

/** The port a vswap service listens on inside its container (its *_LISTEN variable), or redis's 6379. */
export function containerPort(name: string, svc: ComposeService): number {
  if ((svc.command?.[0] ?? '') === 'redis-server' || svc.image?.startsWith('redis')) {
    const i = svc.command?.indexOf('--port') ?? -1;
    return i >= 0 ? Number(svc.command?.[i + 1]) : 6379;
  }
  const listen = Object.entries(environmentOf(svc)).find(([k]) => /^VSWAP_[A-Z]+_LISTEN$/.test(k))?.[1];
  const m = listen ? /:(\d+)$/.exec(listen) : null;
  if (!m) throw new Error(`service ${name}: no VSWAP_*_LISTEN with a port`);
  return Number(m[1]);
}

/** A service that runs once to its end (no health check, never restarted), as the credentials service. */
export function isOneShot(svc: ComposeService): boolean {
  return svc.healthcheck === undefined && svc.restart === 'no';
}

/** Whether a service's command can run as a local process here (node, or redis-server). */
export function runsLocally(svc: ComposeService): boolean {
  const cmd = svc.command?.[0];
  return cmd === 'node' || cmd === 'redis-server' || (svc.image?.startsWith('redis') ?? false);
}

/** The port of a vswap service's metrics endpoint in its container (VSWAP_*_METRICS_LISTEN), if any. */
export function metricsPort(svc: ComposeService): number | undefined {
  const listen = Object.entries(environmentOf(svc)).find(([k]) => /^VSWAP_[A-Z]+_METRICS_LISTEN$/.test(k))?.[1];
  const m = listen ? /:(\d+)$/.exec(listen) : null;
  return m ? Number(m[1]) : undefined;
}

export interface RunningService {
  name: string;
  /** 127.0.0.1:<remapped port>. */
  address: string;
  child: ChildProcess;
  log(): string;
}

export class ComposeRunner {
  readonly running = new Map<string, RunningService>();
  /** "host:port" as the compose file writes it (service name, container port) -> 127.0.0.1:<free port>. */
  private readonly hostMap = new Map<string, string>();
  private readonly volumeDirs = new Map<string, string>();

  private constructor(
    readonly compose: ComposeFile,
    readonly tmpDir: string,
  ) {}

  static async prepare(compose: ComposeFile, tmpDir: string): Promise<ComposeRunner> {
    const r = new ComposeRunner(compose, tmpDir);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!runsLocally(svc) || isOneShot(svc)) continue;
      r.hostMap.set(`${name}:${containerPort(name, svc)}`, `127.0.0.1:${await freePort()}`);
      const metrics = metricsPort(svc);
      if (metrics !== undefined) r.hostMap.set(`${name}:${metrics}`, `127.0.0.1:${await freePort()}`);
    }
    for (const vol of Object.keys(compose.volumes ?? {})) {
      const dir = path.join(tmpDir, vol);
      fs.mkdirSync(dir, { recursive: true });
      r.volumeDirs.set(vol, dir);
    }
    return r;
  }

  /** The temporary directory standing for a named volume. */
  volumeDir(volume: string): string {
    const dir = this.volumeDirs.get(volume);
    if (!dir) throw new Error(`no volume ${volume}`);
    return dir;
  }

  addressOf(name: string): string {
    const svc = this.compose.services[name];
    if (!svc) throw new Error(`no service ${name}`);
    const a = this.hostMap.get(`${name}:${containerPort(name, svc)}`);
    if (!a) throw new Error(`no address for ${name}`);
    return a;
  }

  /**
   * Rewrites one value as the service would see it here: other services' host:port, its own listen address, volume
   * paths.
   */
  rewrite(name: string, value: string): string {
    const svc = this.compose.services[name]!;
    const own = isOneShot(svc) ? undefined : containerPort(name, svc);
    const metrics = metricsPort(svc);
    let v = value.replace(/\b([A-Za-z0-9][A-Za-z0-9_.-]*):(\d+)\b/g, (whole, host: string, port: string) => {
      if (['0.0.0.0', '127.0.0.1', 'localhost'].includes(host) && Number(port) === own) return this.addressOf(name);
      if (['0.0.0.0', '127.0.0.1', 'localhost'].includes(host) && Number(port) === metrics)
        return this.hostMap.get(`${name}:${metrics}`) ?? whole;
      return this.hostMap.get(`${host}:${port}`) ?? whole;
    });
    for (const mount of svc.volumes ?? []) {
      const [vol, target] = mount.split(':');
      const dir = vol ? this.volumeDirs.get(vol) : undefined;
      if (!dir || !target) continue;
      if (v === target || v.startsWith(`${target}/`)) v = dir + v.slice(target.length);
    }
    return v;
  }

  /** The service's environment here: the compose file's (rewritten), no VSWAP_* of ours, PATH kept. */
  environment(name: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VSWAP_')) env[k] = v;
    for (const [k, v] of Object.entries(environmentOf(this.compose.services[name]!))) env[k] = this.rewrite(name, v);
    return env;
  }

  /** host:port of a service's metrics endpoint here. */
  metricsAddressOf(name: string): string {
    const port = metricsPort(this.compose.services[name] ?? {});
    const a = port === undefined ? undefined : this.hostMap.get(`${name}:${port}`);
    if (!a) throw new Error(`service ${name} serves no metrics`);
    return a;
  }

  /** The services run here (runsLocally), in an order where each comes after what it depends on. */
  startOrder(): string[] {
    const order: string[] = [];
    const visit = (name: string, path: string[]): void => {
      if (order.includes(name)) return;
      if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' -> ')}`);
      for (const dep of dependenciesOf(this.compose.services[name] ?? {})) visit(dep, [...path, name]);
      order.push(name);
    };
    for (const [name, svc] of Object.entries(this.compose.services)) if (runsLocally(svc)) visit(name, []);
    return order;
  }

  /** Starts one service's command. */
  start(name: string): RunningService {
    const svc = this.compose.services[name]!;
    const command = svc.command ?? [];
    const address = isOneShot(svc) ? '' : this.addressOf(name);
    const port = address.slice(address.lastIndexOf(':') + 1);
    let child: ChildProcess;
    if (command[0] === 'redis-server') {
      const vol = (svc.volumes ?? [])[0]?.split(':')[0];
      const dir = (vol && this.volumeDirs.get(vol)) ?? path.join(this.tmpDir, name);
      fs.mkdirSync(dir, { recursive: true });
      // The compose file's own arguments, then where this copy listens and keeps its files.
      child = spawn('redis-server', [...command.slice(1), '--port', port, '--bind', '127.0.0.1', '--dir', dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } else if (command[0] === 'node') {
      child = spawn(
        process.execPath,
        command.slice(1).map((a) => this.rewrite(name, a)),
        { cwd: REPO_ROOT, env: this.environment(name), stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } else {
      throw new Error(`service ${name}: command ${JSON.stringify(command)} is neither node nor redis-server`);
    }
    let log = '';
    const keep = (d: Buffer): void => {
      log = (log + d.toString('utf8')).slice(-128 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const running: RunningService = { name, address, child, log: () => log };
    this.running.set(name, running);
    return running;
  }

  /** The health check's command line here ("CMD" form), with addresses rewritten. */
  healthcheckCommand(name: string): string[] | undefined {
    const test = this.compose.services[name]?.healthcheck?.test;
    if (!Array.isArray(test) || test[0] !== 'CMD') return undefined;
    const argv = test.slice(1).map((a) => this.rewrite(name, a));
    if (argv[0] === 'node') return [process.execPath, ...argv.slice(1)];
    if (argv[0] === 'redis-cli') {
      const address = this.addressOf(name);
      return ['redis-cli', '-h', '127.0.0.1', '-p', address.slice(address.lastIndexOf(':') + 1), ...argv.slice(1)];
    }
    return argv;
  }

  /** Runs the health check until it succeeds; throws with the service's log when it does not within timeoutMs. */
  async waitHealthy(name: string, timeoutMs = 30_000): Promise<void> {
    const cmd = this.healthcheckCommand(name);
    if (!cmd) throw new Error(`service ${name} has no CMD health check`);
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const child = this.running.get(name)?.child;
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(
          `service ${name} exited (${child.signalCode ?? child.exitCode}) before ` +
            `it was healthy:\n${this.running.get(name)?.log()}`,
        );
      }
      const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0) return;
      last = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`;
      if (Date.now() > deadline)
        throw new Error(
          `service ${name}: health check ${cmd.join(' ')} still failing after ` +
            `${timeoutMs} ms: ${last}\n${this.running.get(name)?.log()}`,
        );
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** Runs a one-shot service to its end; throws with its log unless it exits 0. */
  async runToCompletion(name: string, timeoutMs = 60_000): Promise<void> {
    const running = this.start(name);
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`service ${name} still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
      running.child.once('exit', (c, signal) => {
        clearTimeout(timer);
        resolve(signal ? null : c);
      });
    });
    if (code !== 0) throw new Error(`service ${name} exited ${code}:\n${running.log()}`);
  }

  /** Starts every service in dependency order, each once what it depends on is healthy (or, one-shot, done). */
  async up(): Promise<void> {
    const healthy = new Map<string, Promise<void>>();
    for (const name of this.startOrder()) {
      const deps = dependenciesOf(this.compose.services[name]!);
      healthy.set(
        name,
        Promise.all(deps.map((d) => healthy.get(d))).then(async () => {
          if (isOneShot(this.compose.services[name]!)) return this.runToCompletion(name);
          this.start(name);
          await this.waitHealthy(name);
        }),
      );
    }
    // Settle all before reporting, so that down() sees every child that was started.
    const results = await Promise.allSettled(healthy.values());
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Stops everything, dependents first (like compose down). */
  async down(): Promise<void> {
    for (const name of this.startOrder().reverse()) {
      const child = this.running.get(name)?.child;
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await stopChild(child, 'SIGTERM');
      clearTimeout(timer);
    }
  }
}
