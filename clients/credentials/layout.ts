/**
 * Where a cluster's credentials live inside their directory (`.vswap/` for
 * `npm start`, a volume under docker-compose). These names are a contract:
 * the services, vswapctl, the SDK, the benchmarks and tools outside the
 * project read them (see the README, "Security"). No X.509 code here, so
 * the SDK can import it without the generator's dependencies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The directory `npm start` keeps everything in, and where clients look when told nothing else (relative to cwd). */
export const DEFAULT_CREDENTIALS_DIR = '.vswap';

/** Each file, relative to the credentials directory. */
export const CREDENTIAL_FILES = {
  /** The admin bearer token alone on one line (0600). */
  adminToken: 'admin.token',
  /** The secret the coordinator presents to backends as `authorization: Bearer <secret>` (0600). */
  clusterToken: 'cluster.token',
  /** Principals the coordinator accepts: token hashes only, never a token. */
  principals: 'principals.yaml',
  /** The cluster CA: clients verify every service's certificate with it. */
  ca: 'tls/ca.pem',
  /** The CA's private key (0600): only the generator reads it, to issue certificates. */
  caKey: 'tls/ca-key.pem',
  /** The certificate every service serves (SANs: loopback names and the compose service names). */
  serverCert: 'tls/server.pem',
  serverKey: 'tls/server-key.pem',
  /** The client certificate the coordinator presents to backends (mutual TLS). */
  clientCert: 'tls/coordinator-client.pem',
  clientKey: 'tls/coordinator-client-key.pem',
  /**
   * The key ring sealing pages in Redis (0600; services/common/page-cipher.ts):
   * `1:<base64 of 32 bytes>`. Never made anew once there: pages sealed under it
   * would no longer open.
   */
  redisKey: 'redis.key',
} as const;

export type CredentialFile = keyof typeof CREDENTIAL_FILES;
export type CredentialPaths = { readonly [K in CredentialFile]: string } & { readonly dir: string };

/** Files that hold a secret: written 0600, and put back to 0600 when found looser. */
export const SECRET_FILES: readonly CredentialFile[] = [
  'adminToken',
  'clusterToken',
  'caKey',
  'serverKey',
  'clientKey',
  'redisKey',
];

/** Absolute paths of every credential file under `dir`. */
export function credentialPaths(dir: string): CredentialPaths {
  const root = path.resolve(dir);
  const out: Record<string, string> = { dir: root };
  for (const [key, rel] of Object.entries(CREDENTIAL_FILES)) out[key] = path.join(root, ...rel.split('/'));
  return out as CredentialPaths;
}

/** The token in a token file: its first line, trimmed; undefined when the file is missing or empty. */
export function readTokenFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const token = text.split(/\r?\n/)[0]?.trim() ?? '';
  return token === '' ? undefined : token;
}
