/**
 * The credentials generator as npm start and the compose one-shot service use
 * it: every file there with the right mode, certificates that verify against
 * the CA and serve a real TLS handshake, the SANs the services are dialled
 * by, expiry and renewal, and a second run that keeps everything.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DEFAULT_SERVER_NAMES,
  ensureCredentials,
  readTokenFile,
  tokenSha256,
} from '../../../clients/credentials/credentials';
import { subjectAltNames } from '../../../clients/credentials/certificates';
import { CREDENTIAL_FILES, SECRET_FILES, type CredentialFile } from '../../../clients/credentials/layout';
import { parseKeyRing } from '../../../services/common/page-cipher';

const DAY = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ALL = Object.keys(CREDENTIAL_FILES) as CredentialFile[];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-creds-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const x509 = (file: string) => new X509Certificate(fs.readFileSync(file));
const contents = (paths: Record<CredentialFile, string>) =>
  Object.fromEntries(ALL.map((k) => [k, fs.readFileSync(paths[k], 'utf8')]));

interface Principals {
  principals: { name: string; token_sha256: string; role: string; owners: string[] }[];
}

describe('ensureCredentials', () => {
  it('creates every file of the contract, secrets 0600, on a first run', async () => {
    const r = await ensureCredentials({ dir: path.join(dir, '.vswap') });
    expect(Object.keys(r.written).sort()).toEqual([...ALL].sort());
    expect(r.kept).toEqual([]);
    for (const key of ALL) {
      expect(r.paths[key]).toBe(path.join(dir, '.vswap', CREDENTIAL_FILES[key]));
      expect(fs.existsSync(r.paths[key]), key).toBe(true);
    }
    for (const key of SECRET_FILES) expect(fs.statSync(r.paths[key]).mode & 0o777, key).toBe(0o600);
    expect(fs.statSync(path.dirname(r.paths.ca)).mode & 0o077).toBe(0);

    // Tokens: one line each, long and different; the principals file holds the admin's hash only.
    const admin = fs.readFileSync(r.paths.adminToken, 'utf8');
    const cluster = fs.readFileSync(r.paths.clusterToken, 'utf8');
    expect(admin).toMatch(/^vswap_[A-Za-z0-9_-]{43}\n$/);
    expect(cluster).toMatch(/^vswap_[A-Za-z0-9_-]{43}\n$/);
    expect(admin).not.toBe(cluster);
    const principalsText = fs.readFileSync(r.paths.principals, 'utf8');
    expect(principalsText).not.toContain(admin.trim());
    expect(principalsText).not.toContain(cluster.trim());
    const principals = parse(principalsText) as Principals;
    expect(principals.principals).toEqual([
      { name: 'admin', token_sha256: tokenSha256(admin.trim()), role: 'admin', owners: ['*'] },
    ]);
  });

  it('issues certificates that verify against the CA, with the SANs, usages and expiry the services need', async () => {
    const now = new Date();
    const r = await ensureCredentials({ dir, now });
    const ca = x509(r.paths.ca);
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca) && ca.verify(ca.publicKey)).toBe(true);
    expect(new Date(ca.validTo).getTime()).toBeGreaterThan(now.getTime() + 3649 * DAY);
    expect(ca.checkPrivateKey(createPrivateKey(fs.readFileSync(r.paths.caKey)))).toBe(true);

    const server = x509(r.paths.serverCert);
    const client = x509(r.paths.clientCert);
    for (const cert of [server, client]) {
      expect(cert.ca).toBe(false);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      const expires = new Date(cert.validTo).getTime();
      expect(expires).toBeGreaterThan(now.getTime() + 824 * DAY);
      expect(expires).toBeLessThan(now.getTime() + 826 * DAY);
    }
    expect(server.keyUsage).toEqual([SERVER_AUTH]);
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
    expect(subjectAltNames(server).sort()).toEqual(
      ['localhost', '127.0.0.1', '::1', 'coordinator', 'zswap', 'swapfile', 'swapfile-redis'].sort(),
    );
    expect([...DEFAULT_SERVER_NAMES].sort()).toEqual(subjectAltNames(server).sort());
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('example.com')).toBeUndefined();
    // Signed by this CA and no other.
    const other = await ensureCredentials({ dir: path.join(dir, 'other') });
    expect(server.verify(x509(other.paths.ca).publicKey)).toBe(false);
  });

  it('serves a real mutual-TLS handshake: server certificate checked by name, client certificate required', async () => {
    const r = await ensureCredentials({ dir });
    const read = (k: CredentialFile) => fs.readFileSync(r.paths[k]);
    const server = tls.createServer(
      { cert: read('serverCert'), key: read('serverKey'), ca: read('ca'), requestCert: true, rejectUnauthorized: true },
      (socket) => socket.end(`hello ${socket.getPeerCertificate().subject.CN}`),
    );
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    const connect = (o: tls.ConnectionOptions) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: read('ca'), ...o }, () => undefined);
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
    try {
      await expect(connect({ cert: read('clientCert'), key: read('clientKey') })).resolves.toBe(
        'hello vswap-coordinator',
      );
      await expect(connect({ cert: read('clientCert'), key: read('clientKey'), servername: 'zswap' })).resolves.toBe(
        'hello vswap-coordinator',
      );
      // A client that does not trust the cluster CA refuses the server.
      await expect(connect({ ca: undefined, cert: read('clientCert'), key: read('clientKey') })).rejects.toThrow(
        /self.signed|unable to (get|verify)/i,
      );
      // A server name the certificate does not carry is refused.
      await expect(
        connect({ cert: read('clientCert'), key: read('clientKey'), servername: 'evil.example' }),
      ).rejects.toThrow(/altnames|does not match/i);
      // No client certificate: the server ends the handshake.
      await expect(connect({})).rejects.toThrow();
    } finally {
      server.close();
    }
  });

  it('keeps every file on a second run: same bytes, nothing written', async () => {
    const first = await ensureCredentials({ dir });
    const before = contents(first.paths);
    const second = await ensureCredentials({ dir });
    expect(second.written).toEqual({});
    expect(second.kept.sort()).toEqual([...ALL].sort());
    expect(contents(second.paths)).toEqual(before);
  });

  it('replaces only what is missing: a deleted server key gets a new server pair from the same CA', async () => {
    const first = await ensureCredentials({ dir });
    const before = contents(first.paths);
    fs.rmSync(first.paths.serverKey);
    const second = await ensureCredentials({ dir });
    expect(Object.keys(second.written).sort()).toEqual(['serverCert', 'serverKey']);
    const after = contents(second.paths);
    expect(after.serverCert).not.toBe(before.serverCert);
    for (const k of ALL.filter((k) => k !== 'serverCert' && k !== 'serverKey')) expect(after[k], k).toBe(before[k]);
    expect(x509(second.paths.serverCert).verify(x509(second.paths.ca).publicKey)).toBe(true);
  });

  it('issues new certificates from a new CA when the CA is gone (old ones would not verify)', async () => {
    const first = await ensureCredentials({ dir });
    const before = contents(first.paths);
    fs.rmSync(first.paths.caKey);
    const second = await ensureCredentials({ dir });
    expect(Object.keys(second.written).sort()).toEqual(
      ['ca', 'caKey', 'serverCert', 'serverKey', 'clientCert', 'clientKey'].sort(),
    );
    expect(second.written.serverCert).toMatch(/not signed by the cluster CA/);
    const after = contents(second.paths);
    expect(after.adminToken).toBe(before.adminToken);
    expect(after.principals).toBe(before.principals);
    const ca = x509(second.paths.ca);
    expect(x509(second.paths.serverCert).verify(ca.publicKey)).toBe(true);
    expect(x509(second.paths.clientCert).verify(ca.publicKey)).toBe(true);
  });

  it('renews certificates that expire within 30 days, and keeps the CA', async () => {
    const first = await ensureCredentials({ dir });
    const before = contents(first.paths);
    const later = new Date(Date.now() + 800 * DAY);
    const second = await ensureCredentials({ dir, now: later });
    expect(Object.keys(second.written).sort()).toEqual(['clientCert', 'clientKey', 'serverCert', 'serverKey']);
    expect(second.written.serverCert).toMatch(/^it expires /);
    expect(contents(second.paths).ca).toBe(before.ca);
    expect(new Date(x509(second.paths.serverCert).validTo).getTime()).toBeGreaterThan(later.getTime() + 800 * DAY);
  });

  it('reissues the server certificate when asked for a name it lacks (--san)', async () => {
    await ensureCredentials({ dir });
    const r = await ensureCredentials({ dir, extraServerNames: ['vswap.internal', '10.1.2.3'] });
    expect(Object.keys(r.written).sort()).toEqual(['serverCert', 'serverKey']);
    expect(r.written.serverCert).toMatch(/not valid for vswap\.internal, 10\.1\.2\.3/);
    const names = subjectAltNames(x509(r.paths.serverCert));
    expect(names).toContain('vswap.internal');
    expect(names).toContain('10.1.2.3');
    expect(names).toContain('localhost');
  });

  it('gives a new admin token its hash in an existing principals file, keeping the other principals', async () => {
    const first = await ensureCredentials({ dir });
    fs.appendFileSync(
      first.paths.principals,
      '  - name: host-17\n    token_sha256: ' + 'ab'.repeat(32) + '\n    role: client\n    owners: ["host-17/*"]\n',
    );
    fs.rmSync(first.paths.adminToken);
    const second = await ensureCredentials({ dir });
    expect(Object.keys(second.written).sort()).toEqual(['adminToken', 'principals']);
    const token = readTokenFile(second.paths.adminToken)!;
    const text = fs.readFileSync(second.paths.principals, 'utf8');
    expect(text).toContain('# vswap principals'); // comments kept
    const p = (parse(text) as Principals).principals;
    expect(p.map((e) => e.name)).toEqual(['admin', 'host-17']);
    expect(p[0]!.token_sha256).toBe(tokenSha256(token));
    expect(p[1]!.token_sha256).toBe('ab'.repeat(32));
  });

  it('keeps a principals file whose admin hash the operator changed while admin.token stayed', async () => {
    const first = await ensureCredentials({ dir });
    const edited = fs
      .readFileSync(first.paths.principals, 'utf8')
      .replace(/token_sha256: \w+/, `token_sha256: ${'cd'.repeat(32)}`);
    fs.writeFileSync(first.paths.principals, edited);
    const second = await ensureCredentials({ dir });
    expect(second.written).toEqual({});
    expect(fs.readFileSync(second.paths.principals, 'utf8')).toBe(edited);
  });

  it('puts secrets found with looser modes back to 0600', async () => {
    const first = await ensureCredentials({ dir });
    fs.chmodSync(first.paths.adminToken, 0o644);
    fs.chmodSync(first.paths.serverKey, 0o640);
    await ensureCredentials({ dir });
    expect(fs.statSync(first.paths.adminToken).mode & 0o777).toBe(0o600);
    expect(fs.statSync(first.paths.serverKey).mode & 0o777).toBe(0o600);
  });

  it('replaces a certificate whose key is not its own', async () => {
    const first = await ensureCredentials({ dir });
    fs.copyFileSync(first.paths.clientKey, first.paths.serverKey);
    const r = await ensureCredentials({ dir });
    expect(r.written.serverCert).toMatch(/key is not the certificate key/);
    expect(x509(r.paths.serverCert).checkPrivateKey(createPrivateKey(fs.readFileSync(r.paths.serverKey)))).toBe(true);
  });

  it('makes the Redis key ring once (a usable key), keeps a rotated one, and never replaces one it cannot parse', async () => {
    const first = await ensureCredentials({ dir });
    const ring = parseKeyRing(fs.readFileSync(first.paths.redisKey, 'utf8'));
    expect(ring.ids).toEqual([1]);
    // An operator rotated: the new key first, the old one kept.
    const rotated = `2:${'ab'.repeat(32)}\n${fs.readFileSync(first.paths.redisKey, 'utf8')}`;
    fs.writeFileSync(first.paths.redisKey, rotated);
    expect((await ensureCredentials({ dir })).kept).toContain('redisKey');
    expect(fs.readFileSync(first.paths.redisKey, 'utf8')).toBe(rotated);
    fs.writeFileSync(first.paths.redisKey, '1:short\n');
    await expect(ensureCredentials({ dir })).rejects.toThrow(
      /redis\.key cannot be used .*entry 1.*remove it if no page/,
    );
    expect(fs.readFileSync(first.paths.redisKey, 'utf8')).toBe('1:short\n');
  });
});
