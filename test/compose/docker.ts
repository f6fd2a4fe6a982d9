/**
 * Driving docker-compose.yml under a real Docker engine for the compose test:
 * `docker compose` where the plugin exists, else `docker-compose`, with a
 * project name of its own and the published ports moved to free ones.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../support/service';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): CommandResult {
  const r = spawnSync(cmd, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The compose command of this machine: ["docker", "compose"] or ["docker-compose"]. */
export function composeCommand(): string[] | undefined {
  if (run('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (run('docker-compose', ['version']).status === 0) return ['docker-compose'];
  return undefined;
}

export class ComposeProject {
  constructor(
    readonly command: string[],
    readonly project: string,
    /** Variables the compose file interpolates (published ports). */
    readonly env: Record<string, string>,
  ) {}

  /** Runs a compose subcommand; throws with its output when it fails. */
  compose(args: string[], timeoutMs = 600_000): string {
    const r = run(this.command[0]!, [...this.command.slice(1), '-p', this.project, ...args], {
      env: this.env,
      timeoutMs,
    });
    if (r.status !== 0)
      throw new Error(`${this.command.join(' ')} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Container name, state and health of every container of the project. */
  containers(all = true): { name: string; service: string; state: string; health: string }[] {
    const r = run('docker', [
      'ps',
      ...(all ? ['-a'] : []),
      '--filter',
      `label=com.docker.compose.project=${this.project}`,
      '--format',
      '{{.Names}}\t{{.Label "com.docker.compose.service"}}\t{{.State}}\t{{.Status}}',
    ]);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name = '', service = '', state = '', status = ''] = l.split('\t');
        const health = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1] ?? 'none';
        return { name, service, state, health };
      });
  }

  /** Waits until every service with a health check is healthy and the rest run; returns the ms waited. */
  async waitHealthy(services: string[], timeoutMs = 180_000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const cs = this.containers(false);
      const ok = services.every((s) =>
        cs.some((c) => c.service === s && c.state === 'running' && (c.health === 'healthy' || c.health === 'none')),
      );
      if (ok) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `not healthy after ${timeoutMs} ms: ${JSON.stringify(cs)}\n${this.compose(['logs', '--tail', '50'])}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Resources Docker still holds for the project (after down -v: none). */
  leftovers(): { containers: string[]; volumes: string[]; networks: string[] } {
    const label = `label=com.docker.compose.project=${this.project}`;
    const lines = (r: CommandResult) => r.stdout.split('\n').filter(Boolean);
    return {
      containers: lines(run('docker', ['ps', '-a', '--filter', label, '--format', '{{.Names}}'])),
      volumes: lines(run('docker', ['volume', 'ls', '--filter', label, '--format', '{{.Name}}'])),
      networks: lines(run('docker', ['network', 'ls', '--filter', label, '--format', '{{.Name}}'])),
    };
  }
}
