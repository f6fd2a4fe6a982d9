/**
 * Principals: who may call the coordinator, as the principals file defines
 * them (README, Security). A principal has a name, a credential (the SHA-256 of
 * its bearer token, and/or the CN of a client certificate), a role (client or
 * admin), the owners it may act for (exact names, prefixes ending in `/*`, or
 * `*`) and limits. Parsing checks everything and names the first bad field.
 */
import { parse as parseYaml } from 'yaml';

export type Role = 'client' | 'admin';

export interface PrincipalLimits {
  /** Owners holding slots it may have at once (a new owner past it: RESOURCE_EXHAUSTED); 0 = no limit. */
  maxOwners: number;
  /** Live slots over all its owners; 0 = no limit. */
  maxSlots: number;
  /** Calls of its in flight at once; 0 = no limit. */
  maxInFlight: number;
}

/** Defaults of a client's limits (an admin's are unlimited unless given). */
export const DEFAULT_CLIENT_LIMITS: Readonly<PrincipalLimits> = {
  maxOwners: 1000,
  maxSlots: 16_777_216,
  maxInFlight: 64,
};
export const DEFAULT_ADMIN_LIMITS: Readonly<PrincipalLimits> = { maxOwners: 0, maxSlots: 0, maxInFlight: 0 };
/** Default cap on owners holding slots in the whole cluster. */
export const DEFAULT_MAX_OWNERS_TOTAL = 100_000;

/** Which owners a principal may act for. */
export class OwnerScope {
  /** `*` was given. */
  readonly all: boolean;
  private readonly exact: ReadonlySet<string>;
  /** Prefixes including their trailing '/'. */
  private readonly prefixes: readonly string[];

  constructor(readonly patterns: readonly string[]) {
    this.all = patterns.includes('*');
    this.exact = new Set(patterns.filter((p) => !p.endsWith('/*') && p !== '*'));
    this.prefixes = patterns.filter((p) => p.endsWith('/*')).map((p) => p.slice(0, -1));
  }

  includes(owner: string): boolean {
    if (this.all || this.exact.has(owner)) return true;
    for (const p of this.prefixes) if (owner.length > p.length && owner.startsWith(p)) return true;
    return false;
  }
}

export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** SHA-256 of its bearer token (32 bytes), if it has one. */
  readonly tokenSha256: Buffer | undefined;
  /** CN of a verified client certificate that authenticates as it. */
  readonly certCn: string | undefined;
  readonly owners: OwnerScope;
  readonly limits: Readonly<PrincipalLimits>;
}

export interface PrincipalSet {
  readonly principals: readonly Principal[];
  /** By token digest (hex). */
  readonly byToken: ReadonlyMap<string, Principal>;
  readonly byCertCn: ReadonlyMap<string, Principal>;
  /** Owners holding slots in the whole cluster, at most; 0 = no limit. */
  readonly maxOwnersTotal: number;
}

export class PrincipalsError extends Error {
  override readonly name = 'PrincipalsError';
}

const NAME_RE = /^[A-Za-z0-9._@:-]{1,128}$/;
const OWNER_CHARS = /^[A-Za-z0-9._/-]{1,128}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function limitOf(where: string, v: unknown, def: number): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new PrincipalsError(`${where}: must be a whole number >= 0 (0 = no limit)`);
  return v;
}

function checkKeys(where: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new PrincipalsError(`${where}: unknown field "${k}" (known: ${allowed.join(', ')})`);
}

function ownerPattern(where: string, v: unknown): string {
  if (typeof v !== 'string') throw new PrincipalsError(`${where}: must be a string`);
  if (v === '*') return v;
  const base = v.endsWith('/*') ? v.slice(0, -2) : v;
  if (!OWNER_CHARS.test(base) || base.includes('*'))
    throw new PrincipalsError(
      `${where}: "${v}" is not an owner name, a prefix ending in "/*", or ` +
        '"*" (owner names: 1 to 128 characters from [A-Za-z0-9._/-])',
    );
  return v;
}

/** Parses a principals file's text (YAML, or JSON which YAML reads too). */
export function parsePrincipals(text: string): PrincipalSet {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PrincipalsError(`not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(doc)) throw new PrincipalsError('the file must hold a mapping with a "principals" list');
  checkKeys('top level', doc, ['principals', 'limits']);
  if (!Array.isArray(doc.principals)) throw new PrincipalsError('"principals" must be a list');
  let maxOwnersTotal = DEFAULT_MAX_OWNERS_TOTAL;
  if (doc.limits !== undefined) {
    if (!isRecord(doc.limits)) throw new PrincipalsError('"limits" must be a mapping');
    checkKeys('limits', doc.limits, ['max_owners_total']);
    maxOwnersTotal = limitOf('limits.max_owners_total', doc.limits.max_owners_total, DEFAULT_MAX_OWNERS_TOTAL);
  }
  const principals: Principal[] = [];
  const byName = new Set<string>();
  const byToken = new Map<string, Principal>();
  const byCertCn = new Map<string, Principal>();
  doc.principals.forEach((raw: unknown, i: number) => {
    const at = `principals[${i}]`;
    if (!isRecord(raw)) throw new PrincipalsError(`${at}: must be a mapping`);
    checkKeys(at, raw, ['name', 'token_sha256', 'cert_cn', 'role', 'owners', 'limits']);
    const { name, token_sha256: token, cert_cn: certCn, role, owners, limits } = raw;
    if (typeof name !== 'string' || !NAME_RE.test(name))
      throw new PrincipalsError(`${at}.name: must be 1 to 128 characters from [A-Za-z0-9._@:-]`);
    const where = `principal "${name}"`;
    if (byName.has(name)) throw new PrincipalsError(`${where}: the name appears twice`);
    if (token !== undefined && (typeof token !== 'string' || !HEX64.test(token)))
      throw new PrincipalsError(
        `${where}: token_sha256 must be 64 hex digits (the SHA-256 of the token, not the token)`,
      );
    if (certCn !== undefined && (typeof certCn !== 'string' || certCn === ''))
      throw new PrincipalsError(`${where}: cert_cn must be a non-empty string`);
    if (token === undefined && certCn === undefined)
      throw new PrincipalsError(`${where}: needs token_sha256 or cert_cn (or both)`);
    if (role !== 'client' && role !== 'admin') throw new PrincipalsError(`${where}: role must be client or admin`);
    if (!Array.isArray(owners) || (owners.length === 0 && role === 'client'))
      throw new PrincipalsError(`${where}: owners must be a list of owner names or prefixes ("host-17/*")`);
    const patterns = owners.map((o, j) => ownerPattern(`${where}: owners[${j}]`, o));
    const def = role === 'admin' ? DEFAULT_ADMIN_LIMITS : DEFAULT_CLIENT_LIMITS;
    let lim: PrincipalLimits = { ...def };
    if (limits !== undefined) {
      if (!isRecord(limits)) throw new PrincipalsError(`${where}: limits must be a mapping`);
      checkKeys(`${where}: limits`, limits, ['max_owners', 'max_slots', 'max_in_flight']);
      lim = {
        maxOwners: limitOf(`${where}: limits.max_owners`, limits.max_owners, def.maxOwners),
        maxSlots: limitOf(`${where}: limits.max_slots`, limits.max_slots, def.maxSlots),
        maxInFlight: limitOf(`${where}: limits.max_in_flight`, limits.max_in_flight, def.maxInFlight),
      };
    }
    const p: Principal = {
      name,
      role,
      tokenSha256: token === undefined ? undefined : Buffer.from(token, 'hex'),
      certCn,
      owners: new OwnerScope(patterns),
      limits: lim,
    };
    const hex = token?.toLowerCase();
    if (hex !== undefined) {
      const other = byToken.get(hex);
      if (other) throw new PrincipalsError(`${where}: has the same token as principal "${other.name}"`);
      byToken.set(hex, p);
    }
    if (certCn !== undefined) {
      const other = byCertCn.get(certCn);
      if (other) throw new PrincipalsError(`${where}: has the same cert_cn as principal "${other.name}"`);
      byCertCn.set(certCn, p);
    }
    byName.add(name);
    principals.push(p);
  });
  return { principals, byToken, byCertCn, maxOwnersTotal };
}
