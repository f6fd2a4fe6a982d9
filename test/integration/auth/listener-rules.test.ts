/**
 * What a service refuses to start with (issue 11): no credentials on an
 * address that is not loopback (protected mode), plaintext there without
 * --insecure, half a TLS configuration, a principals file that does not
 * parse. And the coordinator's mutual TLS: a client certificate whose CN a
 * principal names authenticates as it; an unknown CN, no certificate, an
 * expired one or one from another CA does not.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PemPair, createCa, issueLeaf } from '../../../clients/credentials/certificates';
import type { CredentialPaths } from '../../../clients/credentials/layout';
import { expectStartFailure, startService, type StartedService } from '../../support/service';
import { addPrincipals, makeCredentials, rawCoordinator, unaryOutcome } from '../../support/auth';

let dir: string;
let creds: CredentialPaths;
const started: StartedService[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-listener-'));
  creds = await makeCredentials(path.join(dir, 'creds'));
});
afterAll(async () => {
  for (const s of started) await s.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The service's log once it holds `re` (warnings are logged as it starts serving, asynchronously). */
async function logged(s: StartedService, re: RegExp): Promise<string> {
  for (let i = 0; i < 100 && !re.test(s.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
  return s.stderr();
}

const zswap = (args: string[]) => ({ entry: 'services/zswap/main.js', args, env: { VSWAP_LOG_LEVEL: 'warn' } });
const coordinator = (args: string[]) => ({
  entry: 'services/coordinator/main.js',
  args: ['--data-dir', fs.mkdtempSync(path.join(dir, 'coord-')), ...args],
  env: { VSWAP_LOG_LEVEL: 'warn' },
});

describe('listener rules', () => {
  it('without credentials serves loopback only, and says so', async () => {
    const bad = await expectStartFailure(zswap(['--listen', '0.0.0.0:0']));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no credentials.*protected mode.*0\.0\.0\.0:0.*--insecure/);
    const bad2 = await expectStartFailure(coordinator(['--listen', '0.0.0.0:0']));
    expect(bad2.stderr).toMatch(/protected mode/);
    const s = await startService(zswap(['--listen', '127.0.0.1:0']));
    started.push(s);
    expect(await logged(s, /protected mode/)).toMatch(/protected mode/);
  });

  it('refuses plaintext on an address that is not loopback unless --insecure, which warns', async () => {
    const bad = await expectStartFailure(zswap(['--listen', '0.0.0.0:0', '--cluster-token-file', creds.clusterToken]));
    expect(bad.stderr).toMatch(/refusing to serve plaintext on 0\.0\.0\.0:0.*--tls-cert/);
    const s = await startService(
      zswap(['--listen', '0.0.0.0:0', '--cluster-token-file', creds.clusterToken, '--insecure', 'true']),
    );
    started.push(s);
    expect(await logged(s, /--insecure: serving plaintext/)).toMatch(/--insecure: serving plaintext/);
  });

  it('refuses half a TLS configuration and a principals file that does not parse, naming what is wrong', async () => {
    expect((await expectStartFailure(zswap(['--tls-cert', creds.serverCert]))).stderr).toMatch(
      /--tls-cert and --tls-key go together/,
    );
    expect(
      (await expectStartFailure(zswap(['--tls-cert', creds.serverCert, '--tls-key', path.join(dir, 'nope')]))).stderr,
    ).toMatch(/--tls-key: cannot read/);
    expect((await expectStartFailure(zswap(['--cluster-token-file', path.join(dir, 'nope')]))).stderr).toMatch(
      /--cluster-token-file: cannot read/,
    );
    const file = path.join(dir, 'bad-principals.yaml');
    fs.writeFileSync(
      file,
      'principals:\n  - name: x\n    token_sha256: my-token-in-clear\n    role: client\n    owners: [a]\n',
    );
    const bad = await expectStartFailure(coordinator(['--principals', file]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/principal "x": token_sha256 must be 64 hex digits/);
    expect((await expectStartFailure(coordinator(['--tls-ca', creds.ca]))).stderr).toMatch(
      /--tls-ca needs --principals/,
    );
  });
});

describe('coordinator with client certificates (mutual TLS)', () => {
  let coord: StartedService;
  let ca: PemPair;

  beforeAll(async () => {
    addPrincipals(creds.principals, [
      { name: 'host-9', role: 'client', owners: ['host-9/*'], cert_cn: 'host-9', token: false },
    ]);
    ca = { cert: fs.readFileSync(creds.ca, 'utf8'), key: fs.readFileSync(creds.caKey, 'utf8') };
    coord = await startService(
      coordinator([
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        creds.serverCert,
        '--tls-key',
        creds.serverKey,
        '--tls-ca',
        creds.ca,
        '--principals',
        creds.principals,
      ]),
    );
    started.push(coord);
  });

  const call = async (cert: PemPair | undefined, owner: string) => {
    const o = { ca: Buffer.from(ca.cert), cert };
    const c = rawCoordinator(coord.address, o);
    const out = await unaryOutcome(c, 'Allocate', { owner, count: 1 }, o, 5000);
    c.close();
    return out.code;
  };

  it('authenticates a certificate by its CN, and only for that principal’s owners', async () => {
    const now = new Date();
    const host9 = await issueLeaf(ca, { commonName: 'host-9', usage: 'client', days: 30, now });
    expect(await call(host9, 'host-9/a')).toBe(grpc.status.OK);
    expect(await call(host9, 'host-10/a')).toBe(grpc.status.PERMISSION_DENIED);
    const stranger = await issueLeaf(ca, { commonName: 'host-10', usage: 'client', days: 30, now });
    expect(await call(stranger, 'host-10/a')).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('does not let in a caller without a certificate, with an expired one, or one from another CA', async () => {
    const now = new Date();
    const expired = await issueLeaf(ca, {
      commonName: 'host-9',
      usage: 'client',
      days: 1,
      now: new Date(now.getTime() - 10 * 86_400_000),
    });
    const other = await createCa({ commonName: 'another CA', days: 30, now });
    const forged = await issueLeaf(other, { commonName: 'host-9', usage: 'client', days: 30, now });
    for (const cert of [undefined, expired, forged]) expect(await call(cert, 'host-9/a')).toBe(grpc.status.UNAVAILABLE);
  });
});
