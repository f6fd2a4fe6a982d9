import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseReadyLine } from '../../services/common/ready';
import { stopChild } from './redis';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The compiled entry point of a service or client (npm test builds first). */
export function distPath(rel: string): string {
  return path.join(REPO_ROOT, 'dist', rel);
}

export interface StartedService {
  readonly child: ChildProcess;
  readonly address: string;
  /** Everything the process wrote on stderr so far (its logs). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export interface StartServiceOptions {
  /** Path under dist/, e.g. "services/zswap/main.js". */
  entry: string;
  args?: string[];
  env?: Record<string, string>;
  /** Default 15 s. */
  timeoutMs?: number;
}

/**
 * Starts a service as a child process and waits for its ready line. Rejects
 * with the process's stderr when it exits first (a start-up error).
 */
export function startService(options: StartServiceOptions): Promise<StartedService> {
  const child = spawn(process.execPath, [distPath(options.entry), ...(options.args ?? [])], {
    env: { ...process.env, VSWAP_LOG_LEVEL: process.env.VSWAP_LOG_LEVEL ?? 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.entry} did not become ready in time; stderr:\n${err}`));
    }, options.timeoutMs ?? 15_000);
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const ready = parseReadyLine(line);
      if (!ready) return;
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
      reject(new Error(`${options.entry} exited with code ${code} before it was ready; stderr:\n${err}`));
    });
  });
}

/** Runs a service that is expected to refuse to start; returns exit code and stderr. */
export async function expectStartFailure(options: StartServiceOptions): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [distPath(options.entry), ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err += d;
  });
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stderr: err };
}
