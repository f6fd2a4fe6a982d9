/**
 * Where the SDK and vswapctl find the token and CA (the contract in the
 * README, "Security"): option, else variable, else the files npm start
 * wrote; a variable set but empty turns the files off. Files that cannot be
 * used are named in the error; a token never is.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from '../../../services/common/config';
import { resolveClientCredentials } from '../../../clients/sdk/client-credentials';
import { VswapClientError } from '../../../clients/sdk/errors';
import { ensureCredentials } from '../../../clients/credentials/credentials';

let dir: string;
let adminToken: string;
let caPem: Buffer;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-client-creds-'));
  const r = await ensureCredentials({ dir });
  adminToken = fs.readFileSync(r.paths.adminToken, 'utf8').trim();
  caPem = fs.readFileSync(r.paths.ca);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const env = (vars: Record<string, string>) => sharedEnv(vars);

describe('resolveClientCredentials', () => {
  it('uses the files npm start wrote when nothing else is said', () => {
    const c = resolveClientCredentials({ credentialsDir: dir }, env({}));
    expect(c.token).toBe(adminToken);
    expect(c.tokenSource).toBe(path.join(dir, 'admin.token'));
    expect(c.caPem?.equals(caPem)).toBe(true);
    expect(c.caSource).toBe(path.join(dir, 'tls', 'ca.pem'));
  });

  it('is plaintext without a token where there are no files', () => {
    const c = resolveClientCredentials({ credentialsDir: path.join(dir, 'nothing-here') }, env({}));
    expect(c).toEqual({ token: undefined, tokenSource: undefined, caPem: undefined, caSource: undefined });
  });

  it('prefers VSWAP_TOKEN and VSWAP_CA to the files, and the options to both', () => {
    const other = path.join(dir, 'other-ca.pem');
    fs.writeFileSync(other, caPem);
    const fromEnv = resolveClientCredentials(
      { credentialsDir: dir },
      env({ VSWAP_TOKEN: 'env-token', VSWAP_CA: other }),
    );
    expect(fromEnv.token).toBe('env-token');
    expect(fromEnv.tokenSource).toBe('VSWAP_TOKEN');
    expect(fromEnv.caSource).toBe(other);
    const fromOptions = resolveClientCredentials(
      { credentialsDir: dir, token: 'option-token', ca: Buffer.from(caPem) },
      env({ VSWAP_TOKEN: 'env-token', VSWAP_CA: other }),
    );
    expect(fromOptions.token).toBe('option-token');
    expect(fromOptions.caSource).toBe('option');
  });

  it('takes a variable set but empty, or an option of null, as none: no token, plaintext, files or not', () => {
    const c = resolveClientCredentials({ credentialsDir: dir }, env({ VSWAP_TOKEN: '', VSWAP_CA: '' }));
    expect(c.token).toBeUndefined();
    expect(c.caPem).toBeUndefined();
    const o = resolveClientCredentials({ credentialsDir: dir, token: null, ca: null }, env({ VSWAP_TOKEN: 'x' }));
    expect(o.token).toBeUndefined();
    expect(o.caPem).toBeUndefined();
  });

  it('names a CA file that is missing or holds no certificate (INVALID_ARGUMENT)', () => {
    const missing = path.join(dir, 'no-such-ca.pem');
    const err = (() => {
      try {
        resolveClientCredentials({}, env({ VSWAP_CA: missing }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(VswapClientError);
    expect((err as VswapClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((err as VswapClientError).message).toContain(missing);
    expect((err as VswapClientError).message).toContain('VSWAP_CA');

    const notPem = path.join(dir, 'admin.token');
    expect(() => resolveClientCredentials({ ca: notPem }, env({}))).toThrow(/no PEM certificate/);
  });

  it('refuses a token that cannot be a header value, without printing it', () => {
    const secret = 'two words secret';
    let message = '';
    try {
      resolveClientCredentials({ token: secret }, env({}));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/not a bearer token/);
    expect(message).not.toContain(secret);
  });
});
