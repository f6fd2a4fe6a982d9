#!/usr/bin/env node
/**
 * `npm start`: a local vswap cluster of child processes (coordinator on
 * 127.0.0.1:50051, a zswap service, a file-backed swapfile service, and with
 * --redis-url / --with-redis a Redis-backed swapfile as the remote tier), all
 * data under one directory, with TLS and tokens from the credentials made
 * there on the first start (clients/credentials). Runs until Ctrl-C or SIGTERM, then stops every
 * child; if one child dies on its own, says which and why, and stops the rest.
 * Needs nothing but Node: Redis only when asked for.
 */
import { sharedEnv } from '../../services/common/config';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { stopChild } from './spawn-service';
import { LocalCluster, type SwapfileNodeOptions } from './local-cluster';
import { findOnPath, RedisServer } from './redis-server';
import { parseStartOptions, type StartOptions } from './start-options';
import { ensureCredentials, type CredentialsResult } from '../credentials/credentials';
import { DEFAULT_CREDENTIALS_DIR } from '../credentials/layout';

/** Every child spawned so far (cluster nodes and redis-server), for cleanup whatever happens. */
const children = new Set<ChildProcess>();
const track = (child: ChildProcess): void => {
  children.add(child);
  child.once('exit', () => children.delete(child));
};

let cluster: LocalCluster | undefined;
let redis: RedisServer | undefined;
let stopping: Promise<void> | undefined;
let lockFile: string | undefined;

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Stops the cluster (coordinator first, then backends), then Redis; SIGKILL for whatever is left. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    if (cluster) await cluster.stop().catch(() => undefined);
    // Children spawned during a start that was interrupted are not in the cluster yet.
    await Promise.all(
      [...children]
        .filter((c) => c !== redis?.process)
        .map(async (c) => {
          const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
          await stopChild(c, 'SIGTERM');
          clearTimeout(timer);
        }),
    );
    if (redis) await redis.stop();
    for (const c of children) c.kill('SIGKILL');
    releaseLock();
  })();
  return stopping;
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    // A second Ctrl-C: do not wait for graceful shutdowns.
    say(`\n${signal} again: killing what is left`);
    for (const c of children) c.kill('SIGKILL');
    releaseLock();
    process.exit(1);
  }
  say(`\n${signal}: stopping the cluster...`);
  void stopAll().then(() => {
    say('stopped.');
    process.exit(0);
  });
}

/** The data directory belongs to one cluster at a time: two swapfile services on one file would corrupt it. */
function takeLock(dataDir: string): void {
  const file = path.join(dataDir, 'cluster.pid');
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new Error(
        `another vswap cluster (pid ${pid}) is using ${dataDir}; stop it first, or give another --data-dir`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.writeFileSync(file, `${process.pid}\n`);
  lockFile = file;
}

function releaseLock(): void {
  if (!lockFile) return;
  try {
    if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockFile);
  } catch {
    // already gone
  }
  lockFile = undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fails early, with a hint, when the coordinator's port is taken (rather than after the backends started). */
function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `127.0.0.1:${port} is in use (another vswap cluster?); stop it or pass --port`
            : `cannot listen on 127.0.0.1:${port}: ${err.message}`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines
    .slice(-n)
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Once running: a child that exits while we are not stopping takes the cluster down, loudly. */
function watchChildren(c: LocalCluster, logDir: string): void {
  const watch = (name: string, child: ChildProcess, log: () => string): void => {
    child.once('exit', (code, signal) => {
      // Ctrl-C in a terminal signals the whole process group: the children may
      // see it a moment before we do. Give our own handler that moment.
      setTimeout(() => {
        if (stopping) return;
        process.stderr.write(
          `\nvswap: ${name} exited (${signal ?? `code ${code}`}); stopping the rest of the cluster.\n`,
        );
        const tail = log();
        if (tail.trim() !== '')
          process.stderr.write(
            `  last lines of its log (${path.join(logDir, `${name}.log`)}):\n${lastLines(tail, 10)}\n`,
          );
        void stopAll().then(() => process.exit(1));
      }, 300).unref();
    });
  };
  for (const n of c.nodes.values()) {
    const child = n.service?.child;
    if (child) watch(n.name, child, () => c.logs(n.name));
  }
  if (redis) {
    const r = redis;
    if (r.process) watch('redis-server', r.process, () => r.log());
  }
}

/** A path as the user would type it from here: relative below the current directory, else absolute. */
function shown(p: string): string {
  const relative = path.relative(process.cwd(), p);
  return relative === '' ? '.' : relative.startsWith('..') ? p : relative;
}

function printSummary(
  c: LocalCluster,
  o: StartOptions,
  dataDir: string,
  remoteUrl: string | undefined,
  creds: CredentialsResult,
): void {
  const rel = shown(dataDir);
  const rows: [string, string, string][] = [
    ['coordinator', c.address, `vswap.v1.VirtualSwap, journal in ${path.join(rel, 'coordinator')}`],
  ];
  rows.push(['zswap', c.node('zswap').address, `compressed pool in memory, ${o.zswapPool}, ${o.compressor}`]);
  rows.push([
    'swapfile',
    c.node('swapfile').address,
    `file ${path.join(rel, 'swapfile.swap')}, ${o.swapfilePages} pages, priority 10`,
  ]);
  if (remoteUrl)
    rows.push([
      'remote',
      c.node('remote').address,
      'Redis ' +
        `${remoteUrl}${redis ? ` (private, data in ${path.join(rel, 'redis')})` : ''}, ` +
        `${o.swapfilePages} pages, priority 0`,
    ]);
  const p = creds.paths;
  // vswapctl and the SDK look in ./.vswap: elsewhere, say where the token and CA are.
  const found = path.resolve(DEFAULT_CREDENTIALS_DIR) === p.dir;
  const envPrefix =
    (c.address === '127.0.0.1:50051' ? '' : `VSWAP_ADDRESS=${c.address} `) +
    (found ? '' : `VSWAP_TOKEN=$(cat ${shown(p.adminToken)}) VSWAP_CA=${shown(p.ca)} `);
  say(`vswap cluster running (data in ${rel}/, logs in ${path.join(rel, 'logs')}/)`);
  say();
  for (const [name, addr, what] of rows) say(`  ${name.padEnd(12)} ${addr.padEnd(16)} ${what}`);
  say();
  const fresh = creds.written.adminToken === 'new' || creds.written.ca === 'new';
  say(
    'Every service serves TLS and asks for a token; the credentials ' +
      `${fresh ? 'were created' : 'are'} in ${shown(p.dir)}/:`,
  );
  const files: [string, string][] = [
    [p.adminToken, `the admin token (vswapctl and the SDK read it${found ? '' : ' from VSWAP_TOKEN'})`],
    [p.ca, `the cluster CA (clients check the coordinator's certificate with it${found ? '' : ': VSWAP_CA'})`],
    [p.principals, 'who may call the coordinator (token hashes; re-read on change)'],
    [p.clusterToken, 'the secret the coordinator presents to the backends'],
  ];
  if (remoteUrl) files.push([p.redisKey, 'the key ring sealing the pages in Redis (AES-256-GCM): keep it, with Redis']);
  for (const [file, what] of files) say(`  ${shown(file).padEnd(28)} ${what}`);
  say();
  say('In another terminal:');
  say(`  ${envPrefix}npx vswapctl swaps                 backends, like /proc/swaps`);
  say(`  ${envPrefix}npx vswapctl bench                 swap pages out and in, print figures`);
  say(`  ${envPrefix}npx vswapctl stats --watch         slots by tier, zswap counters`);
  say(`  ${envPrefix}npx vswapctl swapoff zswap         move zswap's pages down a tier`);
  say(`  ${envPrefix}npx vswapctl swapon zswap --priority 100`);
  say(
    `  node_modules/.bin/buf curl --protocol grpc --cacert ${shown(p.ca)} ` +
      `-H "authorization: Bearer $(cat ${shown(p.adminToken)})" ` +
      `https://${c.address}/vswap.v1.VirtualSwap/ListBackends`,
  );
  say();
  say('Ctrl-C stops the cluster.');
}

async function main(): Promise<void> {
  const o = parseStartOptions(process.argv.slice(2));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort (an exception we did not expect): no child outlives us.
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    releaseLock();
  });

  const dataDir = path.resolve(o.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  takeLock(dataDir);
  await checkPortFree(o.port);

  let remoteUrl = o.redisUrl;
  if (o.withRedis) {
    if (!findOnPath('redis-server', sharedEnv().path)) {
      throw new Error(
        '--with-redis needs redis-server on PATH (Debian/Ubuntu: apt-get ' +
          'install redis-server); or give --redis-url of a running Redis',
      );
    }
    redis = await RedisServer.start({ dir: path.join(dataDir, 'redis'), persistence: 'everysec', onSpawn: track });
    remoteUrl = redis.url;
  }
  const swapfiles: SwapfileNodeOptions[] = [
    { name: 'swapfile', store: 'file', capacityPages: o.swapfilePages, priority: 10 },
  ];
  if (remoteUrl)
    swapfiles.push({
      name: 'remote',
      store: 'redis',
      redisUrl: remoteUrl,
      capacityPages: o.swapfilePages,
      priority: 0,
    });
  const logDir = path.join(dataDir, 'logs');
  const logLevel = sharedEnv().logLevel;
  if (stopping) return;
  // The CA, certificates and tokens: made on the first start, kept after.
  const creds = await ensureCredentials({ dir: dataDir });
  if (stopping) return;
  const started = await LocalCluster.start({
    credentials: creds.paths,
    dataDir,
    coordinatorAddress: `127.0.0.1:${o.port}`,
    zswap: { poolBytes: o.zswapPool, compressor: o.compressor },
    swapfiles,
    env: { VSWAP_LOG_LEVEL: logLevel },
    logDir,
    onSpawn: track,
  });
  cluster = started;
  if (stopping) {
    await stopAll();
    return;
  }
  watchChildren(started, logDir);
  watchParent();
  printSummary(started, o, dataDir, remoteUrl, creds);
}

/**
 * `npm start` runs us under `sh -c "npm run build && node ..."`: a SIGTERM to
 * npm alone ends npm and that shell but does not reach us, and we would live
 * on as an orphan with the whole cluster. So when our parent goes away
 * (we get reparented), we stop as if signalled.
 */
function watchParent(): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent || stopping) return;
    clearInterval(timer);
    say(`\nthe process that started us (pid ${parent}) exited: stopping the cluster...`);
    void stopAll().then(() => {
      say('stopped.');
      process.exit(0);
    });
  }, 500);
  timer.unref();
}

main().catch(async (err: unknown) => {
  if (stopping) return; // interrupted while starting: onSignal finishes the job
  process.stderr.write(`vswap: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
