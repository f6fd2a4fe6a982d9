import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_ROOT, LocalCluster } from '../../../clients/cluster/local-cluster';
import { freePort } from '../../../clients/cluster/free-port';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import type { VswapClient } from '../../../clients/sdk/client';

const MAIN = path.join(DIST_ROOT, 'clients/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function vswapctl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, ...env }, timeout: 50_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('vswapctl against a real cluster', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: VswapClient;
  let run: (...args: string[]) => Promise<Run>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-cli-'));
    cluster = await LocalCluster.start({
      dataDir: dir,
      zswap: { poolBytes: '4M' },
      swapfiles: [{ name: 'file0', capacityPages: 16384, priority: 5 }],
    });
    client = cluster.client();
    run = (...args) => vswapctl(['--address', cluster.address, ...args]);
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('swaps lists every backend like swapon --show; --json parses', async () => {
    const r = await run('swaps');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['NAME', 'KIND', 'STORE', 'PRIO', 'STATE', 'SIZE', 'USED']);
    expect(lines.find((l) => l.startsWith('zswap'))!.split(/\s+/)).toEqual([
      'zswap',
      'zswap',
      'memory',
      '0',
      'active',
      '4M',
      '0B',
    ]);
    expect(lines.find((l) => l.startsWith('file0'))!.split(/\s+/)).toEqual([
      'file0',
      'swapfile',
      'file',
      '5',
      'active',
      '64M',
      '0B',
    ]);
    const j = await run('swaps', '--json');
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout) as { backends: { name: string; capacity_pages: number }[] };
    expect(parsed.backends.map((b) => [b.name, b.capacity_pages])).toEqual([
      ['zswap', 1024],
      ['file0', 16384],
    ]);
  });

  it('takes the address from VSWAP_ADDRESS', async () => {
    const r = await vswapctl(['swaps', '--json'], { VSWAP_ADDRESS: cluster.address });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('backends');
  });

  it('put then get returns the file byte for byte; inspect shows the slots; get --release frees them', async () => {
    const input = path.join(dir, 'in.bin');
    // Not a whole number of pages: text, zeros and random bytes.
    const data = Buffer.concat([
      Buffer.from('hello vswap\n'.repeat(2000)),
      Buffer.alloc(8192),
      fs.readFileSync(process.execPath).subarray(0, 20_000),
    ]);
    fs.writeFileSync(input, data);
    const put = await run('put', '--owner', 'cli-a', input);
    expect(put.code).toBe(0);
    const runs = put.stdout.trim().split('\n');
    expect(runs.every((l) => /^\d+(-\d+)?$/.test(l))).toBe(true);

    const info = await run('inspect', '--owner', 'cli-a', '--json', ...runs);
    expect(info.code).toBe(0);
    const slots = (JSON.parse(info.stdout) as { slots: { slot: number; count: number; owner: string; tier: string }[] })
      .slots;
    expect(slots).toHaveLength(Math.ceil(data.length / 4096));
    expect(slots.every((s) => s.count === 1 && s.owner === 'cli-a')).toBe(true);
    expect(slots.some((s) => s.tier === 'TIER_ZERO')).toBe(true);
    const table = await run('inspect', '--owner', 'cli-a', ...runs);
    expect(table.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
      'SLOT',
      'COUNT',
      'TIER',
      'BACKEND',
      'OWNER',
      'CHECKSUM',
      'CACHE',
    ]);

    const out = path.join(dir, 'out.bin');
    const get = await run('get', '--owner', 'cli-a', '--out', out, '--size', String(data.length), ...runs);
    expect(get.code).toBe(0);
    expect(fs.readFileSync(out).equals(data)).toBe(true);
    // Without --size: whole pages, the last one padded with zeros.
    const padded = path.join(dir, 'padded.bin');
    expect((await run('get', '--owner', 'cli-a', '--out', padded, ...runs)).code).toBe(0);
    const p = fs.readFileSync(padded);
    expect(p.length).toBe(slots.length * 4096);
    expect(p.subarray(0, data.length).equals(data)).toBe(true);
    expect(p.subarray(data.length).every((b) => b === 0)).toBe(true);

    const release = await run('get', '--owner', 'cli-a', '--out', out, '--release', ...runs);
    expect(release.code).toBe(0);
    expect((await client.stats('cli-a')).usedSlots).toBe(0);
  });

  it('an unknown slot exits 1 with one line naming the code; nothing is printed on stdout', async () => {
    const r = await run('inspect', '--owner', 'cli-a', '999999');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vswapctl: NOT_FOUND: .*999999.*\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const g = await run('get', '--owner', 'cli-a', '--out', path.join(dir, 'x'), '12345');
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/^vswapctl: NOT_FOUND: /);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('a TLS client of this plaintext coordinator is told why it got no answer: the handshake, and where its CA came from', async () => {
    const ca = (await ensureCredentials({ dir: path.join(dir, 'creds') })).paths.ca;
    for (const [args, env] of [
      [['--ca', ca], {}],
      [[], { VSWAP_CA: ca }],
    ] as const) {
      const r = await vswapctl(['--address', cluster.address, '--timeout', '2s', ...args, 'swaps'], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // The cause comes from the first attempt: the retry only waited for a connection and timed out.
      expect(r.stderr).toMatch(/^vswapctl: (UNAVAILABLE|DEADLINE_EXCEEDED): .*wrong version number/);
      expect(r.stderr).toContain(
        `(over TLS (the CA from ${ca}), but ${cluster.address} does not answer in TLS: ` +
          'for a plaintext coordinator, run with VSWAP_CA set to empty and no --ca)',
      );
    }
  });

  it('where nothing listens, the error says the connection was refused, with no hint about TLS', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const r = await vswapctl(['--address', address, '--timeout', '2s', 'swaps']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vswapctl: (UNAVAILABLE|DEADLINE_EXCEEDED): .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('over plaintext');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('bad usage exits 2 with one line, and changes nothing', async () => {
    const before = await client.stats();
    for (const args of [
      ['inspect', '12'],
      ['inspect', '--owner', 'a', 'twelve'],
      ['frobnicate'],
      ['writeback', '--pages', '-3'],
      ['bench', '--pattern', 'spiral'],
      ['policy', 'o', '--zswap-writeback', 'maybe'],
      ['put', '--owner', 'a', path.join(dir, 'missing')],
      ['swaps', '--timeout', 'soon'],
    ]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^vswapctl: /);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const after = await client.stats();
    expect(after.usedSlots).toBe(before.usedSlots);
    expect(after.swapOuts).toBe(before.swapOuts);
  });

  it('--help works everywhere and exits 0', async () => {
    for (const args of [['--help'], ['swaps', '--help'], ['put', '--help'], ['bench', '--help'], ['stats', '--help']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: vswapctl/);
    }
  });

  it('stats prints kernel counter names; --json parses; --owner filters; --watch refreshes', async () => {
    await client.swapOut('cli-stats', [Buffer.alloc(4096), Buffer.alloc(4096, 7)]);
    const r = await run('stats');
    expect(r.code).toBe(0);
    for (const name of ['used_slots', 'stored_pages', 'pool_total_size', 'written_back_pages', 'TIER_ZSWAP'])
      expect(r.stdout).toContain(name);
    const j = JSON.parse((await run('stats', '--owner', 'cli-stats', '--json')).stdout) as {
      used_slots: number;
      zswap: Record<string, number>;
      pages_by_tier: Record<string, number>;
    };
    expect(j.used_slots).toBe(2);
    expect(j.pages_by_tier.TIER_ZERO).toBe(1);
    expect(typeof j.zswap.stored_pages).toBe('number');
    const w = await run('stats', '--json', '--watch', '0.2', '--count', '3');
    expect(w.code).toBe(0);
    const lines = w.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('used_slots');
  });

  it("writeback moves zswap pages down; policy shows and sets an owner's limits", async () => {
    const text = Buffer.from('compressible '.repeat(400).slice(0, 4096));
    const { slots } = await client.swapOut('cli-wb', [text, Buffer.from(text).fill(65, 0, 10)]);
    const r = await run('writeback', '--pages', '10', '--owner', 'cli-wb', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ written: 2 });
    expect((await client.inspect('cli-wb', slots)).map((s) => s.tier)).toEqual(['TIER_SWAPFILE', 'TIER_SWAPFILE']);
    expect((await run('writeback', '--pages', '5')).stdout).toMatch(/^wrote back \d+ pages\n$/);

    const set = await run(
      'policy',
      'cli-pol',
      '--zswap-max',
      '100',
      '--zswap-writeback',
      'off',
      '--swap-max',
      '50',
      '--json',
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({
      owner: 'cli-pol',
      zswap_max_pages: 100,
      zswap_writeback: false,
      swap_max_pages: 50,
    });
    const show = await run('policy', 'cli-pol');
    expect(show.stdout).toMatch(/zswap\.max\s+100 pages/);
    expect(show.stdout).toMatch(/zswap\.writeback\s+off/);
    expect(show.stdout).toMatch(/swap\.max\s+50 pages/);
    expect(await client.getOwnerPolicy('cli-pol')).toMatchObject({
      zswapMaxPages: 100,
      zswapWriteback: false,
      swapMaxPages: 50,
    });
  });

  it('swapoff reports progress and turns the backend off with the data intact; swapon brings it back', async () => {
    const pages = Array.from({ length: 200 }, (_, i) => Buffer.from(`page ${i} `.repeat(600).slice(0, 4096)));
    const { slots } = await client.swapOut('cli-off', pages);
    const before = await client.inspect('cli-off', slots);
    expect(before.some((s) => s.backend === 'zswap')).toBe(true);
    const r = await run('swapoff', 'zswap');
    expect(r.code).toBe(0);
    // Not a TTY: plain lines, ending with the done line.
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('swapoff zswap: '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^swapoff zswap: done, moved \d+ pages$/);
    const swaps = (await run('swaps')).stdout.split('\n').find((l) => l.startsWith('zswap'))!;
    expect(swaps.split(/\s+/)[4]).toBe('off');
    expect((await client.inspect('cli-off', slots)).every((s) => s.backend === 'file0')).toBe(true);
    const back = await client.load('cli-off', slots);
    back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));

    const on = await run('swapon', 'zswap', '--priority', '3');
    expect(on.code).toBe(0);
    const row = (await run('swaps')).stdout
      .split('\n')
      .find((l) => l.startsWith('zswap'))!
      .split(/\s+/);
    expect(row[3]).toBe('3');
    expect(row[4]).toBe('active');
    const unknown = await run('swapoff', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^vswapctl: FAILED_PRECONDITION: /);
    await client.free('cli-off', slots);
  });

  it('bench runs a verified workload: a table, or exactly one JSON object with --json', async () => {
    const r = await run(
      'bench',
      '--duration',
      '1500ms',
      '--processes',
      '2',
      '--pages',
      '256',
      '--limit',
      '64',
      '--pattern',
      'uniform',
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      pagesPerSecond: number;
      corruptions: number;
      pagesOut: number;
      latency: Record<string, { p50Us: number }>;
      drain: { remaining: number };
    };
    expect(report.corruptions).toBe(0);
    expect(report.pagesOut).toBeGreaterThan(0);
    expect(report.latency.swapOut!.p50Us).toBeGreaterThan(0);
    expect(report.drain.remaining).toBe(0);
    const t = await run('bench', '--duration', '1', '--processes', '1', '--pages', '128', '--limit', '32');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/pages\/s/);
    expect(t.stdout).toMatch(/p50 us/);
    expect(t.stdout).toMatch(/corruptions\s+0/);
  });
});
