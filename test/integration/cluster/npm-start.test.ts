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
import { status as Status } from '@grpc/grpc-js';
import { VswapClient, VswapClientError } from '../../../clients/sdk';
import { readTokenFile } from '../../../clients/credentials/layout';
import { freePort } from '../../support/ports';
import { distPath, REPO_ROOT } from '../../support/service';

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

/** The environment of a user's shell: none of the test runner's VSWAP_* (which turn the .vswap/ files off). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VSWAP_')) env[k] = v;
  return { ...env, ...extra };
}

/** An SDK client with the admin token and CA npm start made in its data directory. */
function sdk(s: { port: number; dataDir: string }): VswapClient {
  return new VswapClient({
    address: `127.0.0.1:${s.port}`,
    token: readTokenFile(path.join(s.dataDir, 'admin.token')) ?? null,
    ca: path.join(s.dataDir, 'tls', 'ca.pem'),
  });
}

/**
 * Starts main.js; stopped after the current test unless `shared` (then the caller stops it).
 * With `cwd`, runs there with the default data directory (.vswap), as `npm start` in a clone.
 */
async function startCluster(args: string[] = [], dataDir = tmpDir(), shared = false, cwd?: string): Promise<Started> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      distPath('clients/cluster/main.js'),
      ...(cwd === undefined ? ['--data-dir', dataDir] : []),
      '--port',
      String(port),
      ...args,
    ],
    {
      cwd,
      env: userEnv({ VSWAP_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (cwd !== undefined) dataDir = path.join(cwd, '.vswap');
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

    const client = sdk(s);
    expect(client.tls).toBe(true);
    const page = Buffer.alloc(4096, 0x5a);
    const { slots } = await client.swapOut('start-test', [page, Buffer.alloc(4096)]);
    expect((await client.load('start-test', slots))[0]!.equals(page)).toBe(true);
    const names = (await client.listBackends()).map((b) => b.name).sort();
    expect(names).toEqual(['swapfile', 'zswap']);
    client.close();

    // Secure by default: TLS and a token on every call; without them the coordinator refuses.
    const anonymous = new VswapClient({
      address: `127.0.0.1:${s.port}`,
      token: null,
      ca: path.join(s.dataDir, 'tls/ca.pem'),
    });
    const refused = await anonymous.stats().catch((e: unknown) => e);
    expect(refused instanceof VswapClientError && refused.code).toBe(Status.UNAUTHENTICATED);
    anonymous.close();
    const plaintext = new VswapClient({ address: `127.0.0.1:${s.port}`, token: null, ca: null, readRetries: 0 });
    const noTls = await plaintext.stats().catch((e: unknown) => e);
    expect(noTls instanceof VswapClientError && noTls.code).toBe(Status.UNAVAILABLE);
    plaintext.close();
    for (const f of ['admin.token', 'cluster.token', 'tls/ca-key.pem', 'tls/server-key.pem'])
      expect(fs.statSync(path.join(s.dataDir, f)).mode & 0o777, f).toBe(0o600);
    expect(s.output()).toMatch(/Every service serves TLS and asks for a token; the credentials were created in /);
    expect(s.output()).toContain(`${path.join(s.dataDir, 'admin.token')}`);
    expect(s.output()).not.toContain(readTokenFile(path.join(s.dataDir, 'admin.token'))!);

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
    const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8');
    const client = sdk(first);
    const page = Buffer.alloc(4096);
    page.write('kept in the swap file');
    // Off zswap (memory, lost on restart): the page goes to the file.
    for await (const _ of client.swapoff('zswap')) void _;
    const { slots } = await client.swapOut('restart', [page]);
    client.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startCluster([], dataDir);
    // The credentials are kept: the same token still works.
    expect(second.output()).toMatch(/the credentials are in /);
    expect(fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8')).toBe(token);
    const again = sdk(second);
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
        `true && exec_node() { "${process.execPath}" "$@"; }; exec_node ` +
          `${distPath('clients/cluster/main.js')} --data-dir ${dataDir} --port ` +
          `${port}`,
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
    // Its pages are sealed with the credentials' key ring (issue 11), and the summary says where it is.
    expect(s.output()).toMatch(/redis\.key\s+the key ring sealing the pages in Redis/);
    const kids = childPids(s.child.pid!);
    expect(kids).toHaveLength(5); // redis-server, zswap, two swapfiles, coordinator
    const client = sdk(s);
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

  it('serves the tour as the README gives it: vswapctl and buf curl in the directory npm start ran in find .vswap/', async () => {
    const clone = tmpDir();
    const s = await startCluster([], undefined, false, clone);
    expect(fs.existsSync(path.join(clone, '.vswap/admin.token'))).toBe(true);
    // Relative paths in the summary, as the user would type them.
    expect(s.output()).toContain('.vswap/admin.token ');
    const env = userEnv({ VSWAP_ADDRESS: `127.0.0.1:${s.port}` });
    const vswapctl = (...args: string[]) =>
      spawnSync(process.execPath, [distPath('clients/cli/main.js'), ...args], {
        cwd: clone,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const swaps = vswapctl('swaps');
    expect(swaps.status, swaps.stderr).toBe(0);
    expect(swaps.stdout).toMatch(/^zswap\s+zswap\s+memory/m);
    // Elsewhere (no .vswap/ there) the same command is refused, and says why.
    const elsewhere = spawnSync(process.execPath, [distPath('clients/cli/main.js'), 'swaps', '--timeout', '2s'], {
      cwd: tmpDir(),
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toMatch(
      /(UNAVAILABLE|DEADLINE_EXCEEDED): .*\(over plaintext: if the coordinator serves TLS, give --ca/,
    );
    // --token and --ca name them from anywhere.
    const named = spawnSync(
      process.execPath,
      [
        distPath('clients/cli/main.js'),
        'swaps',
        '--ca',
        path.join(clone, '.vswap/tls/ca.pem'),
        '--token',
        readTokenFile(path.join(clone, '.vswap/admin.token'))!,
      ],
      { cwd: tmpDir(), env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(named.status, named.stderr).toBe(0);
    const wrong = spawnSync(process.execPath, [distPath('clients/cli/main.js'), 'swaps', '--token', 'vswap_wrong'], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/UNAUTHENTICATED: .*\(the token from --token was refused\)/);
    // The buf curl line it printed, run as printed (buf from this repo's node_modules).
    const bufLine = s
      .output()
      .split('\n')
      .find((l) => l.includes('buf curl'))!
      .trim()
      .replace('node_modules/.bin/buf', path.join(REPO_ROOT, 'node_modules/.bin/buf'));
    const buf = spawnSync('sh', ['-c', bufLine], {
      cwd: clone,
      env: { ...env, HOME: clone },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(buf.status, buf.stderr).toBe(0);
    expect((JSON.parse(buf.stdout) as { backends: { name: string }[] }).backends.map((b) => b.name).sort()).toEqual([
      'swapfile',
      'zswap',
    ]);
    const badCa = vswapctl('swaps', '--ca', path.join(clone, 'no-such-ca.pem'));
    expect(badCa.status).toBe(2);
    expect(badCa.stderr).toContain('no-such-ca.pem');
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
    const client = sdk(s);
    expect(await client.listBackends()).toHaveLength(2);
    client.close();
  });

  it('healthcheck.js exits 0 for a serving service and 1 for an unknown service or when nothing answers', async () => {
    const ca = ['--ca', path.join(s.dataDir, 'tls/ca.pem')];
    const ok = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${s.port}`, 'vswap.v1.VirtualSwap', ...ca],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('SERVING');
    // Plaintext against a TLS listener does not pass.
    const plain = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${s.port}`, '--timeout-ms', '1000'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(plain.status).toBe(1);
    const unknown = spawnSync(
      process.execPath,
      [distPath('clients/cluster/healthcheck.js'), `127.0.0.1:${s.port}`, 'no.such.Service', ...ca],
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
