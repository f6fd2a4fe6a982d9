/**
 * npm run bench:metrics -- [--duration 10 --rounds 2 --json]
 *
 * What serving Prometheus metrics costs the data path: a local cluster (as
 * npm start runs it) with --metrics-listen on every service runs the same
 * verified workload with no scraper, then with every /metrics endpoint
 * scraped once a second, alternating in rounds; the figure is the median
 * ratio of pages/s scraped against not scraped (1.0 = free).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { positiveInteger } from './option-parsers';
import { freePort } from '../cluster/free-port';
import { LocalCluster } from '../cluster/local-cluster';
import { Workload } from '../workload';
import { median, round } from './report';

async function main(): Promise<void> {
  const o = new Command('bench:metrics')
    .option('--duration <s>', 'seconds per measurement', positiveInteger, 10)
    .option('--rounds <n>', 'rounds of (none, scraped)', positiveInteger, 2)
    .option('--json', 'print one JSON object')
    .parse()
    .opts<{ duration: number; rounds: number; json?: boolean }>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-metrics-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const cluster = await LocalCluster.start({
    dataDir: dir,
    coordinatorArgs: ['--metrics-listen', `127.0.0.1:${ports[0]}`],
    zswap: { args: ['--metrics-listen', `127.0.0.1:${ports[1]}`] },
    swapfiles: [{ name: 'swapfile', args: ['--metrics-listen', `127.0.0.1:${ports[2]}`] }],
  });
  const client = cluster.client(30_000);
  const rows: { round: number; none: number; scraped: number; scrapeMs: number }[] = [];
  try {
    const run = async (seed: number, scrape: boolean): Promise<{ pps: number; scrapeMs: number }> => {
      let scrapeMs = 0;
      let scrapes = 0;
      const timer = scrape
        ? setInterval(() => {
            const t0 = performance.now();
            void Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/metrics`).then((r) => r.text()))).then(
              () => {
                scrapeMs += performance.now() - t0;
                scrapes++;
              },
            );
          }, 1000)
        : undefined;
      const workload = new Workload(client, { durationMs: o.duration * 1000, seed, ownerPrefix: `m${seed}` });
      const report = await workload.run();
      if (timer) clearInterval(timer);
      if (report.corruptions > 0) throw new Error(`${report.corruptions} corrupted pages`);
      // Each round starts from an empty cluster.
      await workload.drain();
      return { pps: report.pagesPerSecond, scrapeMs: scrapes ? scrapeMs / scrapes : 0 };
    };
    for (let r = 0; r < o.rounds; r++) {
      const none = await run(2 * r + 1, false);
      const scraped = await run(2 * r + 2, true);
      rows.push({
        round: r + 1,
        none: round(none.pps, 0),
        scraped: round(scraped.pps, 0),
        scrapeMs: round(scraped.scrapeMs, 1),
      });
    }
  } finally {
    client.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const ratio = round(median(rows.map((r) => r.scraped / r.none)), 3);
  if (o.json) process.stdout.write(`${JSON.stringify({ durationS: o.duration, rounds: rows, ratio })}\n`);
  else {
    for (const r of rows)
      process.stdout.write(
        `round ${r.round}: no scrape ${r.none} pages/s, scraped every 1 s ` +
          `${r.scraped} pages/s (one scrape of 3 endpoints: ${r.scrapeMs} ms)\n`,
      );
    process.stdout.write(`scraped / not scraped: ${ratio} (median of rounds)\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:metrics: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
