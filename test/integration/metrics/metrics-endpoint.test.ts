/**
 * The metrics endpoint of each service: off unless --metrics-listen is set,
 * a clear start-up error for a bad or taken address, 404 off /metrics, and
 * per-owner series bounded by --metrics-max-owners.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { boundedOwners, OTHER_OWNERS } from '../../../services/coordinator/metrics';
import { parseReadyLine } from '../../../services/common/ready';
import { freePort } from '../../support/ports';
import { expectStartFailure, startService, type StartedService } from '../../support/service';

const started: StartedService[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.kill();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-metrics-'));
  dirs.push(d);
  return d;
}

describe('metrics endpoint', () => {
  it('is off by default and, when on, serves /metrics only and names its address in the ready file', async () => {
    const dir = tmp();
    const offReady = path.join(dir, 'off.ready');
    const off = await startService({
      entry: 'services/zswap/main.js',
      args: ['--listen', '127.0.0.1:0'],
      env: { VSWAP_READY_FILE: offReady },
    });
    started.push(off);
    expect(parseReadyLine(fs.readFileSync(offReady, 'utf8').trim())).toEqual({
      service: 'zswap',
      address: off.address,
      pid: off.child.pid,
    });
    const ready = path.join(dir, 'ready');
    const on = await startService({
      entry: 'services/swapfile/main.js',
      args: ['--listen', '127.0.0.1:0', '--path', path.join(dir, 'swapfile'), '--metrics-listen', '127.0.0.1:0'],
      env: { VSWAP_READY_FILE: ready },
    });
    started.push(on);
    const line = parseReadyLine(fs.readFileSync(ready, 'utf8').trim());
    expect(line?.service).toBe('swapfile');
    expect(line?.address).toBe(on.address);
    expect(line?.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${line!.metrics!}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^vswap_swapfile_used_pages 0$/m);
    expect(text).toMatch(/^vswap_swapfile_capacity_pages 262144$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect((await fetch(`http://${line!.metrics!}/`)).status).toBe(404);
    await on.kill('SIGTERM');
    started.splice(started.indexOf(on), 1);
    expect(fs.existsSync(ready), 'the ready file is removed when the service stops').toBe(false);
  });

  it('refuses to start with a bad or taken --metrics-listen, naming the option', async () => {
    const bad = await expectStartFailure({
      entry: 'services/zswap/main.js',
      args: ['--listen', '127.0.0.1:0', '--metrics-listen', 'nowhere'],
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--metrics-listen \(VSWAP_ZSWAP_METRICS_LISTEN\): "nowhere" is not host:port/);

    const port = await freePort();
    const holder = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    try {
      const taken = await expectStartFailure({
        entry: 'services/swapfile/main.js',
        args: [
          '--listen',
          '127.0.0.1:0',
          '--path',
          path.join(tmp(), 'swapfile'),
          '--metrics-listen',
          `127.0.0.1:${port}`,
        ],
      });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(
        new RegExp(
          `--metrics-listen \\(VSWAP_SWAPFILE_METRICS_LISTEN\\): cannot serve metrics on 127\\.0\\.0\\.1:${port}`,
        ),
      );
      const coord = await expectStartFailure({
        entry: 'services/coordinator/main.js',
        args: ['--listen', '127.0.0.1:0', '--data-dir', path.join(tmp(), 'c'), '--metrics-listen', `127.0.0.1:${port}`],
      });
      expect(coord.code).toBe(1);
      expect(coord.stderr).toMatch(/cannot serve metrics on/);
    } finally {
      holder.close();
    }
  });
});

describe('per-owner series', () => {
  const row = (owner: string, usedSlots: number) => ({ owner, usedSlots, swapOuts: usedSlots * 2, swapIns: 1 });
  it('keep the owners holding the most slots and sum the rest as one series', () => {
    const rows = [row('a', 5), row('b', 50), row('c', 1), row('d', 20)];
    expect(boundedOwners(rows, 2)).toEqual([
      row('b', 50),
      row('d', 20),
      { owner: OTHER_OWNERS, usedSlots: 6, swapOuts: 12, swapIns: 2 },
    ]);
    expect(boundedOwners(rows, 10).map((r) => r.owner)).toEqual(['b', 'd', 'a', 'c']);
    expect(boundedOwners(rows, 0)).toEqual([{ owner: OTHER_OWNERS, usedSlots: 76, swapOuts: 152, swapIns: 4 }]);
  });

  it('count the pages of owners that hold no slot any more under owner="(other)", so the series still sum to the totals', () => {
    const rows = [row('a', 5), row('b', 50)];
    const departed = { swapOuts: 7, swapIns: 3 };
    expect(boundedOwners(rows, 10, departed)).toEqual([
      row('b', 50),
      row('a', 5),
      { owner: OTHER_OWNERS, usedSlots: 0, swapOuts: 7, swapIns: 3 },
    ]);
    expect(boundedOwners(rows, 1, departed)).toEqual([
      row('b', 50),
      { owner: OTHER_OWNERS, usedSlots: 5, swapOuts: 17, swapIns: 4 },
    ]);
    expect(boundedOwners(rows, 10, { swapOuts: 0, swapIns: 0 }).map((r) => r.owner)).toEqual(['b', 'a']);
  });
});
