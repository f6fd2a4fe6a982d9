/**
 * `npm run test:compose`: docker-compose.yml under a real Docker engine, as a
 * user runs it. Builds the image, waits for every health check, drives the
 * cluster from the host as the README says (vswapctl swaps, bench --keep,
 * stats, swapoff/swapon), then: a restarted coordinator container still
 * resolves every slot to the same bytes (journal on its volume); a killed zswap
 * container loses exactly its pages (DATA_LOSS), every other page reads back;
 * a graceful stop and start of the whole stack loses nothing; Prometheus has
 * every target up; `down -v` leaves no container, volume or network behind.
 * Prints the figures it measured (up and health times, image size, bench).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VswapClient } from '../../clients/sdk';
import { VswapClientError } from '../../clients/sdk/errors';
import { mixedPages } from '../integration/coordinator/pages';
import { freePort } from '../support/ports';
import { distPath } from '../support/service';
import { ComposeProject, composeCommand, run } from './docker';

const command = composeCommand();
const VSWAP_SERVICES = ['coordinator', 'zswap', 'swapfile', 'swapfile-redis'];
const ALL_SERVICES = ['redis', ...VSWAP_SERVICES, 'prometheus'];

/** Which pages the test wrote to which slots, per owner, and whether they must still read back. */
interface Written {
  owner: string;
  slots: number[];
  pages: Buffer[];
}

describe.skipIf(!command)('docker-compose.yml under Docker (needs a Docker engine; .ci/run sets one up)', () => {
  let project: ComposeProject;
  let client: VswapClient;
  let cliEnv: Record<string, string>;
  let promUrl: string;
  let caFile: string | undefined;
  const figures: Record<string, string | number> = {};

  const cli = (...args: string[]) => {
    const r = run(process.execPath, [distPath('clients/cli/main.js'), ...args], { env: cliEnv, timeoutMs: 120_000 });
    if (r.status !== 0) throw new Error(`vswapctl ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    const port = await freePort();
    const promPort = await freePort();
    project = new ComposeProject(command!, `vswaptest${process.pid}`, {
      VSWAP_PUBLISH_PORT: String(port),
      VSWAP_PUBLISH_PROMETHEUS_PORT: String(promPort),
    });
    cliEnv = { VSWAP_ADDRESS: `127.0.0.1:${port}` };
    promUrl = `http://127.0.0.1:${promPort}`;
    const t0 = Date.now();
    try {
      project.compose(['up', '--build', '-d'], 900_000);
      figures.upMs = Date.now() - t0;
      figures.upToHealthyMs = await project.waitHealthy(ALL_SERVICES);
    } catch (err) {
      project.compose(['down', '-v', '--remove-orphans']);
      throw err;
    }
    figures.imageBytes = Number(
      run('docker', ['image', 'inspect', 'vswap:latest', '--format', '{{.Size}}']).stdout.trim(),
    );
    // The CA and the admin token out of the credentials volume, as the README says.
    const fromVolume = (file: string) =>
      project.compose(['run', '--rm', '-T', '--no-deps', 'credentials', 'cat', `/creds/${file}`]);
    const token = fromVolume('admin.token').trim();
    expect(token).toMatch(/^vswap_\S+$/);
    caFile = path.join(os.tmpdir(), `${project.project}-ca.pem`);
    fs.writeFileSync(caFile, fromVolume('tls/ca.pem'));
    cliEnv = { ...cliEnv, VSWAP_TOKEN: token, VSWAP_CA: caFile };
    client = new VswapClient({ address: cliEnv.VSWAP_ADDRESS!, deadlineMs: 30_000, token, ca: caFile });
  });

  afterAll(() => {
    client?.close();
    if (!project) return;
    // Kept for a failure's diagnosis: every service's log of this run.
    const logs = run(project.command[0]!, [...project.command.slice(1), '-p', project.project, 'logs', '--no-color'], {
      env: project.env,
    });
    fs.writeFileSync(path.join(os.tmpdir(), `${project.project}.log`), logs.stdout + logs.stderr);
    project.compose(['down', '-v', '--remove-orphans']);
    if (caFile) fs.rmSync(caFile, { force: true });
    process.stdout.write(`compose figures: ${JSON.stringify(figures)}\n`);
  });

  /**
   * Reads every slot: the bytes written, or DATA_LOSS for the slots in `lost` (one Load per lost slot, batches for the
   * rest).
   */
  async function expectReadBack(w: Written, lost: ReadonlySet<number> = new Set()): Promise<void> {
    const kept = w.slots.map((slot, i) => ({ slot, page: w.pages[i]! })).filter((e) => !lost.has(e.slot));
    for (let i = 0; i < kept.length; i += 128) {
      const chunk = kept.slice(i, i + 128);
      const got = await client.load(
        w.owner,
        chunk.map((e) => e.slot),
      );
      chunk.forEach((e, k) => expect(got[k]!.equals(e.page), `slot ${e.slot} reads back its page`).toBe(true));
    }
    for (const slot of lost) {
      const err = await client.load(w.owner, [slot]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err instanceof VswapClientError && err.code === Status.DATA_LOSS, `slot ${slot} reads DATA_LOSS`).toBe(
        true,
      );
    }
  }

  async function write(owner: string, n: number, seed: number): Promise<Written> {
    const pages = mixedPages(n, seed);
    const slots: number[] = [];
    for (let i = 0; i < n; i += 128) slots.push(...(await client.swapOut(owner, pages.slice(i, i + 128))).slots);
    return { owner, slots, pages };
  }

  let first: Written;

  it('publishes only the coordinator, with TLS and a token: no token is UNAUTHENTICATED, plaintext gets no answer', async () => {
    const rows = run('docker', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project.project}`,
      '--format',
      '{{.Label "com.docker.compose.service"}} {{.Ports}}',
    ]).stdout;
    const published = rows
      .split('\n')
      .filter((l) => l.includes('->'))
      .map((l) => l.split(' ')[0])
      .sort();
    expect(published).toEqual(['coordinator', 'prometheus']);
    for (const l of rows.split('\n').filter((r) => r.includes('->'))) expect(l).not.toMatch(/0\.0\.0\.0:\d+->/);
    const anonymous = new VswapClient({ address: cliEnv.VSWAP_ADDRESS!, token: null, ca: caFile! });
    const refused = await anonymous.stats().catch((e: unknown) => e);
    expect(refused instanceof VswapClientError && refused.codeName).toBe('UNAUTHENTICATED');
    anonymous.close();
    const plaintext = new VswapClient({ address: cliEnv.VSWAP_ADDRESS!, ca: null, readRetries: 0, deadlineMs: 3000 });
    const noTls = await plaintext.stats().catch((e: unknown) => e);
    expect(noTls instanceof VswapClientError && ['UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(noTls.codeName)).toBe(
      true,
    );
    plaintext.close();
  });

  it('serves the CLI from the host: swaps, bench --keep, stats, swapoff and swapon zswap', () => {
    const swaps = cli('swaps', '--json');
    const backends = (JSON.parse(swaps) as { backends: { name: string; state: string }[] }).backends;
    expect(backends.map((b) => `${b.name}:${b.state}`).sort()).toEqual([
      'remote:active',
      'swapfile:active',
      'zswap:active',
    ]);

    const bench = JSON.parse(cli('bench', '--keep', '--duration', '5s', '--json')) as {
      pagesPerSecond: number;
      corruptions: number;
      lostPages: number;
      pagesOut: number;
    };
    expect(bench.corruptions).toBe(0);
    expect(bench.lostPages).toBe(0);
    expect(bench.pagesOut).toBeGreaterThan(0);
    figures.benchPagesPerSecond = bench.pagesPerSecond;

    const stats = JSON.parse(cli('stats', '--json')) as { used_slots: number };
    expect(stats.used_slots).toBeGreaterThan(0);
    expect(cli('swapoff', 'zswap', '--quiet')).toMatch(/zswap/);
    const off = (
      JSON.parse(cli('swaps', '--json')) as { backends: { name: string; state: string; usedPages: number }[] }
    ).backends.find((b) => b.name === 'zswap')!;
    expect(off.state).toBe('off');
    cli('swapon', 'zswap', '--priority', '0');
    expect(
      (JSON.parse(cli('swaps', '--json')) as { backends: { name: string; state: string }[] }).backends.find(
        (b) => b.name === 'zswap',
      )!.state,
    ).toBe('active');
  });

  it('resolves every slot to the same bytes after the coordinator container restarts (journal on its volume)', async () => {
    first = await write('compose-a', 600, 1);
    project.compose(['restart', 'coordinator']);
    await project.waitHealthy(['coordinator']);
    await expectReadBack(first);
  });

  it('when the zswap container is killed, only its pages read DATA_LOSS; every other page reads back', async () => {
    const second = await write('compose-b', 600, 5000);
    const info = await client.inspect(second.owner, second.slots);
    const onZswap = new Set(info.filter((s) => s.tier === 'TIER_ZSWAP').map((s) => s.slot));
    expect(onZswap.size).toBeGreaterThan(100);
    // compose-a's pages went to the swapfile when the coordinator stopped gracefully above.
    expect((await client.inspect(first.owner, first.slots)).filter((s) => s.tier === 'TIER_ZSWAP')).toEqual([]);
    project.compose(['kill', '-s', 'SIGKILL', 'zswap']);
    project.compose(['start', 'zswap']);
    await project.waitHealthy(['zswap']);
    // The coordinator reconciles with the new zswap within a poll or two.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const lost = (await client.inspect(second.owner, second.slots)).filter((s) => s.tier === 'TIER_LOST').length;
      if (lost >= onZswap.size) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const after = await client.inspect(second.owner, second.slots);
    expect(new Set(after.filter((s) => s.tier === 'TIER_LOST').map((s) => s.slot))).toEqual(onZswap);
    await expectReadBack(second, onZswap);
    await expectReadBack(first);
    secondLost = onZswap;
    secondWritten = second;
  });

  let secondLost: Set<number>;
  let secondWritten: Written;

  it('a graceful stop and start of the whole stack loses nothing', async () => {
    const third = await write('compose-c', 600, 9000);
    const inZswap = (await client.inspect(third.owner, third.slots)).filter((s) => s.tier === 'TIER_ZSWAP').length;
    expect(inZswap).toBeGreaterThan(100);
    const before = (await client.stats()).pagesByTier;
    const t0 = Date.now();
    project.compose(['stop'], 300_000);
    figures.stopMs = Date.now() - t0;
    project.compose(['start'], 300_000);
    await project.waitHealthy(ALL_SERVICES);
    const after = (await client.stats()).pagesByTier;
    const lost = (list: { name: string; value: number }[]) => list.find((c) => c.name === 'TIER_LOST')?.value ?? 0;
    expect(lost(after)).toBe(lost(before));
    await expectReadBack(third);
    await expectReadBack(first);
    await expectReadBack(secondWritten, secondLost);
  });

  it('has Prometheus scraping every vswap service, all targets up', async () => {
    const deadline = Date.now() + 60_000;
    let up: { metric: Record<string, string>; value: [number, string] }[] = [];
    while (Date.now() < deadline) {
      const res = (await (await fetch(`${promUrl}/api/v1/query?query=up`)).json()) as { data: { result: typeof up } };
      up = res.data.result;
      if (up.length === VSWAP_SERVICES.length && up.every((s) => s.value[1] === '1')) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(up.map((s) => `${s.metric.instance}=${s.value[1]}`).sort()).toEqual(
      VSWAP_SERVICES.map((s) => `${s}:9464=1`).sort(),
    );
    const res = (await (
      await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('sum(vswap_pages)')}`)
    ).json()) as { data: { result: { value: [number, string] }[] } };
    expect(Number(res.data.result[0]?.value[1])).toBeGreaterThan(0);
  });

  it('down -v leaves no container, volume or network behind', () => {
    project.compose(['down', '-v', '--remove-orphans']);
    expect(project.leftovers()).toEqual({ containers: [], volumes: [], networks: [] });
  });
});
