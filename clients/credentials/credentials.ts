/**
 * ensureCredentials(): everything a secure cluster needs, created on first
 * run and kept after: the cluster CA, the certificate every service serves,
 * the client certificate the coordinator presents to backends, the admin and
 * cluster tokens, and the principals file holding the admin token's hash.
 * A file that is there is kept; one that cannot be used (a certificate
 * expiring within 30 days, not signed by the CA, missing a name) is issued
 * anew, and the result says which and why. Secrets are written 0600, each
 * file atomically (temporary file, then rename).
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { createCa, issueLeaf, reasonToReissue, type PemPair } from './certificates';
import { generateKeyRingText, parseKeyRing } from '../../services/common/page-cipher';
import { credentialPaths, readTokenFile, SECRET_FILES, type CredentialFile, type CredentialPaths } from './layout';

export { readTokenFile } from './layout';

/** The names in the server certificate by default: loopback, and the docker-compose service names. */
export const DEFAULT_SERVER_NAMES: readonly string[] = [
  'localhost',
  '127.0.0.1',
  '::1',
  'coordinator',
  'zswap',
  'swapfile',
  'swapfile-redis',
];

/** The principal `npm start` and the compose file create, holding admin.token's hash. */
export const ADMIN_PRINCIPAL = 'admin';
/** Common name of the coordinator's client certificate (what backends see). */
export const COORDINATOR_CLIENT_CN = 'vswap-coordinator';

export interface CredentialsOptions {
  /** Directory of the credentials (created 0700). */
  dir: string;
  /** Names the server certificate must be valid for; default DEFAULT_SERVER_NAMES. */
  serverNames?: readonly string[];
  /** Extra names on top of serverNames (the CLI's --san). */
  extraServerNames?: readonly string[];
  /** Validity of a new CA, in days; default 3650. */
  caDays?: number;
  /** Validity of a new server or client certificate, in days; default 825. */
  certDays?: number;
  /** A certificate expiring within this many days is issued anew; default 30. */
  renewDays?: number;
  /** Default new Date() (tests move it). */
  now?: Date;
}

const DEFAULTS = { caDays: 3650, certDays: 825, renewDays: 30 };

export function addDefaults(o: CredentialsOptions): Required<Omit<CredentialsOptions, 'now'>> & { now: Date } {
  return {
    dir: o.dir,
    serverNames: o.serverNames ?? DEFAULT_SERVER_NAMES,
    extraServerNames: o.extraServerNames ?? [],
    caDays: o.caDays ?? DEFAULTS.caDays,
    certDays: o.certDays ?? DEFAULTS.certDays,
    renewDays: o.renewDays ?? DEFAULTS.renewDays,
    now: o.now ?? new Date(),
  };
}

export interface CredentialsResult {
  paths: CredentialPaths;
  /** Files written by this call, with why (e.g. "new", "expires 2026-..."). */
  written: Partial<Record<CredentialFile, string>>;
  /** Files found and kept as they were. */
  kept: CredentialFile[];
}

/** A new bearer token: 256 random bits, prefixed so that secret scanners recognise it. */
export function newToken(): string {
  return `vswap_${randomBytes(32).toString('base64url')}`;
}

/** What the principals file holds for a token: hex SHA-256 of its text. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Writes a file atomically with the given mode (the mode is set before the data goes in). */
function writeAtomic(file: string, data: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode); // the umask may have taken bits off
  fs.renameSync(tmp, file);
}

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function principalsYaml(adminHash: string): string {
  return `# vswap principals: who may call the coordinator. Token hashes only, never a token.
# The coordinator re-reads this file on change and on SIGHUP.
#   token_sha256: hex SHA-256 of the bearer token (printf %s "$TOKEN" | sha256sum)
#   role: admin (every method, every owner) or client (its owners only)
#   owners: exact owner names, or prefixes ending in /* ("host-17/*"); "*" is every owner
# A client, for example:
#   - name: host-17
#     token_sha256: <hex>
#     role: client
#     owners: ["host-17/*"]
#     limits: { max_owners: 1000, max_slots: 1000000, max_in_flight: 64 }
principals:
  - name: ${ADMIN_PRINCIPAL}
    token_sha256: ${adminHash}
    role: admin
    owners: ["*"]
`;
}

/**
 * Makes sure every credential file is in `o.dir`, creating what is missing
 * and keeping what is there and usable. Safe to run again and again (npm
 * start runs it at every start, the compose one-shot service at every up).
 */
export async function ensureCredentials(options: CredentialsOptions): Promise<CredentialsResult> {
  const o = addDefaults(options);
  const paths = credentialPaths(o.dir);
  fs.mkdirSync(path.dirname(paths.ca), { recursive: true, mode: 0o700 });
  const written: CredentialsResult['written'] = {};
  const kept: CredentialFile[] = [];

  // Tokens.
  const tokens: Partial<Record<'adminToken' | 'clusterToken', string>> = {};
  for (const which of ['adminToken', 'clusterToken'] as const) {
    const existing = readTokenFile(paths[which]);
    if (existing !== undefined) {
      tokens[which] = existing;
      kept.push(which);
    } else {
      tokens[which] = newToken();
      writeAtomic(paths[which], `${tokens[which]}\n`, 0o600);
      written[which] = 'new';
    }
  }

  // The Redis key ring: made once. One that does not parse is an error, never replaced
  // (the pages sealed under it would be lost with it).
  const redisKey = readIfThere(paths.redisKey);
  if (redisKey === undefined) {
    writeAtomic(paths.redisKey, generateKeyRingText(1), 0o600);
    written.redisKey = 'new';
  } else {
    try {
      parseKeyRing(redisKey);
    } catch (err) {
      throw new Error(
        `${paths.redisKey} cannot be used ` +
          `(${err instanceof Error ? err.message : String(err)}); fix it, or ` +
          'remove it if no page in Redis was sealed under it',
      );
    }
    kept.push('redisKey');
  }

  // The CA: kept when both halves are there and match; a new one means new certificates.
  let ca: PemPair | undefined;
  const caCert = readIfThere(paths.ca);
  const caKey = readIfThere(paths.caKey);
  let caWhy = caCert === undefined || caKey === undefined ? 'new' : undefined;
  if (caCert !== undefined && caKey !== undefined) {
    const why = reasonToReissue({ cert: caCert, key: caKey }, undefined, { renewDays: 0, now: o.now });
    if (why === undefined) ca = { cert: caCert, key: caKey };
    else caWhy = `the CA on disk cannot be used: ${why}`;
  }
  if (ca) kept.push('ca', 'caKey');
  else {
    ca = await createCa({ commonName: 'vswap cluster CA', days: o.caDays, now: o.now });
    writeAtomic(paths.caKey, ca.key, 0o600);
    writeAtomic(paths.ca, ca.cert, 0o644);
    written.ca = written.caKey = caWhy ?? 'new';
  }
  const caX509 = new X509Certificate(ca.cert);

  // The server and the coordinator's client certificate, issued in parallel when both are needed.
  const leaves = [
    {
      cert: 'serverCert',
      key: 'serverKey',
      usage: 'server',
      commonName: 'vswap-server',
      names: [...new Set([...o.serverNames, ...o.extraServerNames])],
    },
    { cert: 'clientCert', key: 'clientKey', usage: 'client', commonName: COORDINATOR_CLIENT_CN, names: [] },
  ] as const;
  await Promise.all(
    leaves.map(async (leaf) => {
      const cert = readIfThere(paths[leaf.cert]);
      const key = readIfThere(paths[leaf.key]);
      const why =
        cert === undefined || key === undefined
          ? 'new'
          : reasonToReissue({ cert, key }, caX509, { names: leaf.names, renewDays: o.renewDays, now: o.now });
      if (why === undefined) {
        kept.push(leaf.cert, leaf.key);
        return;
      }
      const pair = await issueLeaf(ca, {
        commonName: leaf.commonName,
        usage: leaf.usage,
        names: leaf.names,
        days: o.certDays,
        now: o.now,
      });
      writeAtomic(paths[leaf.key], pair.key, 0o600);
      writeAtomic(paths[leaf.cert], pair.cert, 0o644);
      written[leaf.cert] = written[leaf.key] = why;
    }),
  );

  // The principals file: created with the admin's hash; an existing one keeps every
  // entry, and the admin's hash follows admin.token if that was made anew.
  const adminHash = tokenSha256(tokens.adminToken!);
  const principals = readIfThere(paths.principals);
  if (principals === undefined) {
    writeAtomic(paths.principals, principalsYaml(adminHash), 0o600);
    written.principals = 'new';
  } else {
    const doc = parseDocument(principals);
    const list = doc.get('principals');
    const items = list && typeof list === 'object' && 'items' in list ? (list.items as unknown[]) : [];
    const admin = items.find(
      (p): p is { get(k: string): unknown; set(k: string, v: unknown): void } =>
        typeof p === 'object' &&
        p !== null &&
        'get' in p &&
        (p as { get(k: string): unknown }).get('name') === ADMIN_PRINCIPAL,
    );
    if (admin && admin.get('token_sha256') !== adminHash && written.adminToken) {
      admin.set('token_sha256', adminHash);
      writeAtomic(paths.principals, doc.toString(), 0o600);
      written.principals = 'admin.token was made anew: its hash replaces the old one';
    } else kept.push('principals');
  }

  // Secrets found with looser modes (copied around, a umask) go back to 0600.
  for (const f of SECRET_FILES) {
    if (written[f]) continue;
    const mode = fs.statSync(paths[f]).mode & 0o777;
    if ((mode & 0o077) !== 0) fs.chmodSync(paths[f], 0o600);
  }
  return { paths, written, kept };
}
