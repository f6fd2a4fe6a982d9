import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lostByStore } from '../../../clients/fault/checker';
import { History } from '../../../clients/fault/history';
import { NEMESIS_KINDS, parseNemeses } from '../../../clients/fault/nemesis';
import { TcpProxy } from '../../../clients/fault/tcp-proxy';

describe('parseNemeses', () => {
  it('expands groups, keeps kinds, and names an unknown one', () => {
    expect(parseNemeses('all')).toEqual([...NEMESIS_KINDS]);
    expect(parseNemeses('net,disk-full')).toEqual(['net-delay', 'net-blackhole', 'net-reset', 'disk-full']);
    expect(() => parseNemeses('kill,frobnicate')).toThrow(/unknown nemesis "frobnicate"/);
    expect(() => parseNemeses(' , ')).toThrow(/no nemesis/);
  });
});

describe('lostByStore', () => {
  it("sums the coordinator's reconcile records per backend and skips other lines", () => {
    const log = [
      JSON.stringify({
        level: 40,
        backend: 'zswap',
        lost: 12,
        msg: 'reconcile: backend lost pages; they read as DATA_LOSS',
      }),
      'not json at all backend lost pages',
      JSON.stringify({
        level: 40,
        backend: 'zswap',
        lost: 3,
        msg: 'reconcile: backend lost pages; they read as DATA_LOSS',
      }),
      JSON.stringify({ level: 40, backend: 'file0', msg: 'backend unreachable' }),
    ].join('\n');
    expect(lostByStore(log)).toEqual({ zswap: 15 });
  });
});

describe('History', () => {
  it('keeps every fault and only the last operations, in time order', () => {
    const h = new History(3);
    h.fault('kill zswap');
    for (let i = 0; i < 10; i++) h.add('op', `op ${i}`);
    const text = h.toString();
    expect(text).toMatch(/7 earlier operation lines not kept/);
    expect(text).toMatch(/kill zswap/);
    expect(text).toMatch(/op 9/);
    expect(text).not.toMatch(/op 6\b/);
  });
});

describe('TcpProxy', () => {
  let echo: net.Server | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
  });

  async function setup(): Promise<TcpProxy> {
    echo = net.createServer((s) => {
      s.on('error', () => {}); // the proxy resets it on purpose
      s.pipe(s);
    });
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as net.AddressInfo).port;
    proxy = await TcpProxy.start({ target: `127.0.0.1:${port}` });
    return proxy;
  }

  function roundTrip(sock: net.Socket, text: string): Promise<string> {
    return new Promise((resolve) => {
      let got = '';
      const on = (d: Buffer) => {
        got += d.toString();
        if (got.length >= text.length) {
          sock.off('data', on);
          resolve(got);
        }
      };
      sock.on('data', on);
      sock.write(text);
    });
  }

  it('passes bytes through, holds them during a blackhole and delivers them in order when it heals', async () => {
    const p = await setup();
    const sock = net.connect(p.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    expect(await roundTrip(sock, 'hello')).toBe('hello');
    p.setMode({ kind: 'blackhole' });
    let arrived = '';
    const pending = roundTrip(sock, 'abc').then((v) => (arrived = v));
    await new Promise((r) => setTimeout(r, 150));
    expect(arrived).toBe('');
    p.setMode({ kind: 'pass' });
    expect(await pending).toBe('abc');
    p.setMode({ kind: 'delay', ms: 20 });
    expect(await roundTrip(sock, 'slow')).toBe('slow');
    sock.destroy();
  });

  it('resets live connections and refuses new ones while in reset mode', async () => {
    const p = await setup();
    const sock = net.connect(p.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise<string>((r) => sock.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')));
    p.setMode({ kind: 'reset' });
    expect(await closed).toBe('ECONNRESET');
    const again = net.connect(p.port, '127.0.0.1');
    const err = await new Promise<string>((r) => {
      again.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? ''));
      again.once('close', () => r('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(err);
    expect(p.counts.resets).toBeGreaterThanOrEqual(2);
  });
});
