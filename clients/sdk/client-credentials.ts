/**
 * How the SDK and vswapctl find what to present to a coordinator: the bearer
 * token and the CA that signed its TLS certificate. Each comes from the
 * caller's option, else its variable (VSWAP_TOKEN, VSWAP_CA), else the file
 * `npm start` wrote (.vswap/admin.token, .vswap/tls/ca.pem, relative to the
 * current directory) when it is there; else none: no token, plaintext. A
 * variable set but empty means none, files or not (tests against bare
 * services in a directory where `npm start` ran use it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { sharedEnv } from '../../services/common/config';
import { CREDENTIAL_FILES, DEFAULT_CREDENTIALS_DIR, readTokenFile } from '../credentials/layout';
import { VswapClientError } from './errors';

export interface ClientCredentialsOptions {
  /** Bearer token; null: none. Default $VSWAP_TOKEN, else <credentialsDir>/admin.token if it exists. */
  token?: string | null;
  /**
   * CA certificate the coordinator's certificate must be signed by: a PEM
   * file's path, or the PEM itself as a Buffer; null: plaintext. Default
   * $VSWAP_CA, else <credentialsDir>/tls/ca.pem if it exists.
   */
  ca?: string | Buffer | null;
  /** Where the default files are looked for; default ".vswap" (relative to the current directory). */
  credentialsDir?: string;
}

export interface ClientCredentials {
  /** undefined: calls carry no authorization. */
  token: string | undefined;
  /** Where the token came from ("option", "VSWAP_TOKEN", or the file's path), for messages; never the token. */
  tokenSource: string | undefined;
  /** undefined: plaintext. */
  caPem: Buffer | undefined;
  caSource: string | undefined;
}

/** What may stand in an HTTP/2 header value: visible ASCII, no spaces. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

function readCa(file: string, source: string): Buffer {
  try {
    const pem = fs.readFileSync(file);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (err) {
    throw new VswapClientError(
      Status.INVALID_ARGUMENT,
      `CA file ${file} (from ${source}) cannot be used: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Resolves the token and CA; throws VswapClientError(INVALID_ARGUMENT) for a named file that cannot be read. */
export function resolveClientCredentials(
  options: ClientCredentialsOptions = {},
  env: ReturnType<typeof sharedEnv> = sharedEnv(),
): ClientCredentials {
  const dir = options.credentialsDir ?? DEFAULT_CREDENTIALS_DIR;
  let token: string | undefined;
  let tokenSource: string | undefined;
  if (options.token !== undefined) {
    token = options.token ?? undefined;
    tokenSource = token === undefined ? undefined : 'option';
  } else if (env.token !== undefined) {
    token = env.token === '' ? undefined : env.token.trim();
    tokenSource = token === undefined ? undefined : 'VSWAP_TOKEN';
  } else {
    const file = path.join(dir, CREDENTIAL_FILES.adminToken);
    token = readTokenFile(file);
    tokenSource = token === undefined ? undefined : file;
  }
  if (token !== undefined && !TOKEN_SHAPE.test(token))
    throw new VswapClientError(
      Status.INVALID_ARGUMENT,
      `the token from ${tokenSource} is not a bearer token (visible ASCII characters, no spaces)`,
    );

  let caPem: Buffer | undefined;
  let caSource: string | undefined;
  if (options.ca !== undefined) {
    if (Buffer.isBuffer(options.ca)) [caPem, caSource] = [options.ca, 'option'];
    else if (typeof options.ca === 'string') [caPem, caSource] = [readCa(options.ca, 'option'), options.ca];
  } else if (env.ca !== undefined) {
    if (env.ca !== '') [caPem, caSource] = [readCa(env.ca, 'VSWAP_CA'), env.ca];
  } else {
    const file = path.join(dir, CREDENTIAL_FILES.ca);
    if (fs.existsSync(file)) [caPem, caSource] = [readCa(file, 'the default location'), file];
  }
  return { token, tokenSource, caPem, caSource };
}
