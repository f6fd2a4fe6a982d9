/**
 * `node dist/clients/credentials/main.js --dir <dir>`, as the docker-compose
 * one-shot service runs it: creates the files on the first run, keeps them on
 * the next, says which; a bad command line exits 2 and writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { distPath } from '../../support/service';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-creds-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) =>
  spawnSync(process.execPath, [distPath('clients/credentials/main.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('vswap credentials command', () => {
  it('creates the files on the first run and keeps them on the second', () => {
    const creds = path.join(dir, 'creds');
    const first = run('--dir', creds);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`credentials in ${creds}:`);
    expect(first.stdout).toMatch(/admin\.token\s+created/);
    expect(first.stdout).toMatch(/tls\/ca\.pem\s+created/);
    const token = fs.readFileSync(path.join(creds, 'admin.token'), 'utf8');
    expect(first.stdout).not.toContain(token.trim());

    const second = run('--dir', creds, '--json');
    expect(second.status, second.stderr).toBe(0);
    const r = JSON.parse(second.stdout) as { written: Record<string, string>; kept: string[] };
    expect(r.written).toEqual({});
    expect(r.kept).toHaveLength(10);
    expect(fs.readFileSync(path.join(creds, 'admin.token'), 'utf8')).toBe(token);
  });

  it('adds names to the server certificate with --san', () => {
    const r = run('--dir', dir, '--san', 'vswap.example.internal', '--san', '192.0.2.7');
    expect(r.status, r.stderr).toBe(0);
    const cert = new X509Certificate(fs.readFileSync(path.join(dir, 'tls/server.pem')));
    expect(cert.checkHost('vswap.example.internal')).toBe('vswap.example.internal');
    expect(cert.checkIP('192.0.2.7')).toBe('192.0.2.7');
    expect(cert.checkHost('coordinator')).toBe('coordinator');
  });

  it('exits 2 on an unknown flag and writes nothing', () => {
    const r = run('--dir', path.join(dir, 'x'), '--no-such-flag');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-flag'/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });
});
