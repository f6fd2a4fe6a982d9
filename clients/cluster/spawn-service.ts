import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { parseReadyLine } from '../../services/common/ready';

export interface SpawnServiceOptions {
  /** Absolute path of the compiled entry point, run with this process's node. */
  script: string;
  args?: string[];
  /** Node options before the script, e.g. ["--cpu-prof"]; default none. */
  execArgv?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** How long to wait for the ready line; default 15 s. */
  timeoutMs?: number;
  /**
   * Keep at most this many trailing characters of the child's stderr; default
   * unlimited (tests read whole logs; a long benchmark must not grow forever).
   */
  stderrLimit?: number;
  /** Called with the child as soon as it is spawned (before it is ready): to track it for cleanup. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface StartedService {
  readonly child: ChildProcess;
  readonly address: string;
  /** Everything the process wrote on stderr so far (its logs), up to stderrLimit. */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Starts a service as a child process and waits for its ready line (see
 * ready.ts). Rejects with the process's stderr when it exits first (a start-up
 * error) or stays silent past the timeout (then it is killed).
 */
export function spawnService(options: SpawnServiceOptions): Promise<StartedService> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  const limit = options.stderrLimit ?? Infinity;
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err += d;
    if (err.length > limit) err = err.slice(err.length - limit);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // ENOENT and the like: surface as a start-up failure rather than an unhandled 'error'.
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      child.kill('SIGKILL');
      const reason = `did not become ready in ${options.timeoutMs ?? 15_000} ms`;
      reject(new ServiceStartError(`${options.script} ${reason}; stderr:\n${err}`, reason, err));
    }, options.timeoutMs ?? 15_000);
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const ready = parseReadyLine(line);
      if (!ready || settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        child,
        address: ready.address,
        stderr: () => err,
        kill: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, signal),
        exited,
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      const reason = `exited with code ${code} before it was ready`;
      reject(new ServiceStartError(`${options.script} ${reason}; stderr:\n${err}`, reason, err));
    });
    void spawnFailed.then((e) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new ServiceStartError(`cannot start ${options.script}: ${e.message}`, e.message, err));
    });
  });
}

/** A service that exited, failed to spawn or stayed silent before its ready line. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(
    message: string,
    /** Why, in a few words: "exited with code 1", "did not become ready in 15000 ms". */
    readonly reason: string,
    /** What the process wrote on stderr (up to stderrLimit). */
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Sends a signal and resolves once the child has exited (at once if it already has). */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
