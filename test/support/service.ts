import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { spawnService, type StartedService } from '../../clients/cluster/spawn-service';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The compiled entry point of a service or client (npm test builds first). */
export function distPath(rel: string): string {
  return path.join(REPO_ROOT, 'dist', rel);
}

/**
 * Runs a compiled script (a benchmark or tool) to its exit: its exit code
 * (-1 when killed) and stderr. For command-line checks that end before
 * anything starts.
 */
export function runScript(rel: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [distPath(rel), ...args], { timeout: 30_000 }, (err, _out, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
    );
  });
}

export type { StartedService } from '../../clients/cluster/spawn-service';

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
  return spawnService({
    script: distPath(options.entry),
    args: options.args ?? [],
    env: { VSWAP_LOG_LEVEL: process.env.VSWAP_LOG_LEVEL ?? 'warn', ...options.env },
    timeoutMs: options.timeoutMs ?? 15_000,
  });
}

/** Runs a service that is expected to refuse to start; returns exit code and stderr. */
export async function expectStartFailure(
  options: StartServiceOptions,
): Promise<{ code: number | null; stderr: string }> {
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
