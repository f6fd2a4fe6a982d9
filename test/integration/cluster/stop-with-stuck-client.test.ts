/**
 * A service stops on SIGTERM even while a client holds a connection without
 * reading (a paused or blocked client process): graceful shutdown gives calls
 * their grace period, then stops waiting. Before, the server's stop waited for
 * that connection to close, so `docker compose stop` ran into its timeout and
 * killed the coordinator before it could write zswap back.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type StartedService } from '../../support/service';

const started: StartedService[] = [];
const children: ReturnType<typeof spawn>[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  for (const s of started.splice(0)) await s.kill('SIGKILL');
});

/** A client process that connects, makes one health call, then idles with the connection open. */
const CLIENT = `
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const { protoPath } = require('grpc-health-check');
const pkg = grpc.loadPackageDefinition(loader.loadSync(protoPath));
const c = new pkg.grpc.health.v1.Health(process.argv[1], grpc.credentials.createInsecure());
c.check({ service: '' }, (err) => { process.stdout.write(err ? 'error\\n' : 'connected\\n'); });
setInterval(() => {}, 1000);
`;

describe('graceful stop with a stuck client', () => {
  it('exits after its grace period while a paused client keeps its connection open', { timeout: 60_000 }, async () => {
    const svc = await startService({ entry: 'services/zswap/main.js', args: ['--listen', '127.0.0.1:0'] });
    started.push(svc);
    const client = spawn(process.execPath, ['-e', CLIENT, svc.address], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(client);
    await new Promise<void>((resolve, reject) => {
      client.stdout.on('data', (d: Buffer) =>
        d.toString().includes('connected') ? resolve() : reject(new Error(d.toString())),
      );
    });
    client.kill('SIGSTOP');
    svc.child.kill('SIGTERM');
    const code = await Promise.race([
      svc.exited,
      new Promise<string>((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000)),
    ]);
    expect(code).toBe(0);
  });
});
