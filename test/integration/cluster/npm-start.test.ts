/**
 * `npm start` (dist/clients/cluster/main.js) as a user runs it: it prints the
 * addresses, serves the SDK, and on SIGINT / SIGTERM, or when one of its
 * children dies, leaves no process behind. Also the container health check.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VswapClient } from '../../../clients/sdk';
import { freePort } from '../../support/ports';
import { distPath } from '../../support/service';

interface Started {
  child: ChildProcess;
  port: number;
  dataDir: string;
  output(): string;
  exited: Promise<number | null>;
}

const started: Started[] = [];
const tmpDirs: string[] = [];

/** A temporary directory, removed after the current test (or by the caller when `keep`). */
function tmpDir(keep = false): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-start-'));
  if (!keep) tmpDirs.push(d);
  return d;
}

/** Pids of the direct children of `pid` (from /proc), i.e. the services npm start spawned. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts main.js; stopped after the current test unless `shared` (then the caller stops it). */
async function startCluster(args: string[] = [], dataDir = tmpDir(), shared = false): Promise<Started> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [distPath('clients/cluster/main.js'), '--data-dir', dataDir, '--port', String(port), ...args],
    {
      env: { ...process.env, VSWAP_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const s: Started = { child, port, dataDir, output: () => out, exited };
  if (!shared) started.push(s);
  const deadline = Date.now() + 45_000;
  while (!out.includes('Ctrl-C stops the cluster')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return s;
}

/** Waits until none of the pids is alive (they are reaped by their parent, which is exiting too). */
async function expectAllGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(pids.filter(alive)).toEqual([]);
}

afterEach(async () => {
  for (const s of started.splice(0)) {
    const kids = childPids(s.child.pid!);
    if (s.child.exitCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    for (const pid of kids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts a coordinator, zswap and a file swapfile, serves the SDK, and stops every process on SIGINT', async () => {
    const s = await startCluster();
    expect(s.output()).toContain(`coordinator  127.0.0.1:${s.port}`);
    expect(s.output()).toMatch(/zswap\s+127\.0\.0\.1:\d+/);
    expect(s.output()).toMatch(/swapfile\s+127\.0\.0\.1:\d+/);
    expect(s.output()).toContain('npx vswapctl swaps');
    const kids = childPids(s.child.pid!);
    expect(kids).toHaveLength(3);

    const client = new VswapClient({ address: `127.0.0.1:${s.port}` });
    const page = Buffer.alloc(4096, 0x5a);
    const { slots } = await client.swapOut('start-test', [page, Buffer.alloc(4096)]);
    expect((await client.load('start-test', slots))[0]!.equals(page)).toBe(true);
    const names = (await client.listBackends()).map((b) => b.name).sort();
    expect(names).toEqual(['swapfile', 'zswap']);
    client.close();

    // Everything under the one data directory.
    expect(fs.existsSync(path.join(s.dataDir, 'coordinator'))).toBe(true);
    expect(fs.existsSync(path.join(s.dataDir, 'swapfile.swap'))).toBe(true);
    expect(fs.readdirSync(path.join(s.dataDir, 'logs')).sort()).toEqual([
      'coordinator.log',
      'swapfile.log',
      'zswap.log',
    ]);

    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
    await expectAllGone(kids);
    expect(fs.existsSync(path.join(s.dataDir, 'cluster.pid'))).toBe(false);
  });

  it('keeps the data across a restart on the same data directory', async () => {
    const dataDir = tmpDir();
    const first = await startCluster([], dataDir);
    const client = new VswapClient({ address: `127.0.0.1:${first.port}` });
    const page = Buffer.alloc(4096);
    page.write('kept in the swap file');
    // Off zswap (memory, lost on restart): the page goes to the file.
    for await (const _ of client.swapoff('zswap')) void _;
    const { slots } = await client.swapOut('restart', [page]);
    client.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startCluster([], dataDir);
    const again = new VswapClient({ address: `127.0.0.1:${second.port}` });
    expect((await again.load('restart', slots))[0]!.equals(page)).toBe(true);
    again.close();
  });

  it('says so and stops the rest when one of its services dies', async () => {
    const s = await startCluster();
    const kids = childPids(s.child.pid!);
    const zswapPid = kids.find((pid) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('services/zswap/main.js'),
    );
    expect(zswapPid).toBeDefined();
    process.kill(zswapPid!, 'SIGKILL');
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/zswap exited \(SIGKILL\); stopping the rest of the cluster/);
    await expectAllGone(kids);
  });

  it('stops every process when the shell that started it goes away (npm start under sh, npm killed)', async () => {
    const dataDir = tmpDir();
    const port = await freePort();
    // "true &&" keeps sh from exec'ing node: the shape of `npm run build && node ...`.
    const sh = spawn(
      'sh',
      [
        '-c',
        `true && exec_node() { "${process.execPath}" "$@"; }; exec_node ${distPath('clients/cluster/main.js')} --data-dir ${dataDir} --port ${port}`,
      ],
      {
        env: { ...process.env, VSWAP_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const deadline = Date.now() + 45_000;
    while (!out.includes('Ctrl-C stops the cluster') && Date.now() < deadline && sh.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('Ctrl-C stops the cluster');
    const [main] = childPids(sh.pid!);
    const everything = main === undefined ? [] : [main, ...childPids(main)];
    try {
      expect(everything).toHaveLength(4);
      sh.kill('SIGKILL');
      await expectAllGone(everything);
    } finally {
      sh.kill('SIGKILL');
      for (const pid of everything) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('--with-redis adds a private redis-server and a Redis-backed swapfile below the file', async () => {
    const s = await startCluster(['--with-redis']);
    expect(s.output()).toMatch(/remote\s+127\.0\.0\.1:\d+\s+Redis redis:\/\/127\.0\.0\.1:\d+ \(private/);
    const kids = childPids(s.child.pid!);
    expect(kids).toHaveLength(5); // redis-server, zswap, two swapfiles, coordinator
    const client = new VswapClient({ address: `127.0.0.1:${s.port}` });
    let backends = await client.listBackends();
    for (let i = 0; i < 100 && backends.some((b) => b.store === ''); i++) {
      await new Promise((r) => setTimeout(r, 100));
      backends = await client.listBackends();
    }
    const byName = new Map(backends.map((b) => [b.name, b]));
    expect(byName.get('remote')?.store).toBe('redis');
    expect(byName.get('remote')!.priority).toBeLessThan(byName.get('swapfile')!.priority);
    client.close();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await expectAllGone(kids);
  });

  it('rejects bad flags with a message, starting nothing', () => {
    const dataDir = tmpDir();
    const r = spawnSync(
      process.execPath,
      [distPath('clients/cluster/main.js'), '--data-dir', dataDir, '--zswap-pool', 'lots'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--zswap-pool/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe('a running npm start', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startCluster([], tmpDir(true), true);
  });
  afterAll(async () => {
    if (!s) return;
    const kids = childPids(s.child.pid!);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await expectAllGone(kids);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('refuses a second cluster on the same data directory, and the first keeps running', async () => {
    const r = spawnSync(
      process.execPath,
      [distPath('clients/cluster/main.js'), '--data-dir', s.dataDir, '--port', String(await freePort())],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/another vswap cluster \(pid \d+\) is using/);
    const client = new VswapClient({ address: `127.0.0.1:${s.port}` });
    expect(await client.listBackends()).toHaveLength(2);
    client.close();
  });

  it('healthcheck.js exits 0 for a serving service and 1 for an unknown service or when nothing answers', async () => {
    const ok = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${s.port}`, 'vswap.v1.VirtualSwap'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('SERVING');
    const unknown = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${s.port}`, 'no.such.Service'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(unknown.status).toBe(1);
    const down = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${await freePort()}`, '--timeout-ms', '1000'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(down.status).toBe(1);
    expect(down.stdout).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
  });
});
