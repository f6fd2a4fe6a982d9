/**
 * A real Prometheus (Debian's `prometheus` package) for tests: started on a
 * free port with a generated scrape config and a temporary TSDB, queried
 * through its HTTP API, stopped and removed by stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

export const PROMETHEUS_BIN = 'prometheus';

/** Whether the prometheus binary is installed (.ci/run installs it). */
export function havePrometheus(): boolean {
  return spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export class Prometheus {
  private constructor(
    readonly url: string,
    /** Targets in the scrape config. */
    readonly targets: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  /** Starts Prometheus scraping each job's targets (host:port) every `intervalS` seconds. */
  static async start(jobs: Record<string, string[]>, intervalS = 1): Promise<Prometheus> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-prom-'));
    const config = [
      'global:',
      `  scrape_interval: ${intervalS}s`,
      `  scrape_timeout: ${intervalS}s`,
      'scrape_configs:',
      ...Object.entries(jobs).flatMap(([job, targets]) => [
        `  - job_name: ${JSON.stringify(job)}`,
        '    static_configs:',
        `      - targets: ${JSON.stringify(targets)}`,
      ]),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    const child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let out = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-4000)));
    const prom = new Prometheus(`http://127.0.0.1:${port}`, Object.values(jobs).flat().length, child, dir, () => out);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited at start: ${out}`);
      const ok = await fetch(`${prom.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return prom;
      if (Date.now() > deadline) {
        await prom.stop();
        throw new Error(`prometheus not ready after 30 s: ${out}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** An instant query; the samples of its vector result. */
  async query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data) throw new Error(`query ${expr} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector')
      throw new Error(`query ${expr}: expected a vector, got ${body.data.resultType}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The single value of a query that must return exactly one sample. */
  async value(expr: string): Promise<number> {
    const r = await this.query(expr);
    if (r.length !== 1) throw new Error(`query ${expr}: expected one sample, got ${r.length}: ${JSON.stringify(r)}`);
    return r[0]!.value;
  }

  /** Waits until every configured target was scraped successfully after `since` (ms since the epoch). */
  async scrapedAfter(since: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // timestamp() gives the sample's own time only for a plain selector (of `up == 1` it gives the query's time).
      const r = await this.query('min(timestamp(up))').catch(() => []);
      const upNow = await this.query('count(up == 1)').catch(() => []);
      if (r[0] && r[0].value * 1000 > since && upNow[0]?.value === this.targets) return;
      if (Date.now() > deadline)
        throw new Error(`targets not all scraped since ${new Date(since).toISOString()}: ${this.output()}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
