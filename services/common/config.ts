/**
 * Configuration from flags and environment variables: the only module that
 * reads process.env. Each service declares its options once (name, variable,
 * default, parser); loadConfig() validates all of them at start and throws a
 * ConfigError naming the bad option. The README's reference is generated from
 * the same declarations (describeOptions), so it cannot drift.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { parseKeyRing, type KeyRing } from './page-cipher';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface OptionSpec<T> {
  description: string;
  /** Raw default, parsed like a user's value; undefined = required. */
  default: string | undefined;
  /** Parses a raw value; throws an Error whose message says what is wrong. */
  parse(raw: string): T;
  /** For --help and the README: e.g. "bytes", "lz4|zstd|deflate". */
  valueName: string;
}

export type OptionSpecs = Record<string, OptionSpec<unknown>>;
export type ConfigOf<S extends OptionSpecs> = { [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (prefix: string, key: string): string =>
  `${prefix}_${kebab(key).replace(/-/g, '_').toUpperCase()}`;

// ---- option kinds -------------------------------------------------------

export function str(description: string, def?: string, check?: (v: string) => string | undefined): OptionSpec<string> {
  return {
    description,
    default: def,
    valueName: 'string',
    parse(raw) {
      const problem = check?.(raw);
      if (problem) throw new Error(problem);
      return raw;
    },
  };
}

export function int(
  description: string,
  def: number | undefined,
  range: { min?: number; max?: number } = {},
): OptionSpec<number> {
  return {
    description,
    default: def === undefined ? undefined : String(def),
    valueName: 'integer',
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not an integer`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw new Error(`${raw} is out of range`);
      if (range.min !== undefined && n < range.min) throw new Error(`${n} is below the minimum ${range.min}`);
      if (range.max !== undefined && n > range.max) throw new Error(`${n} is above the maximum ${range.max}`);
      return n;
    },
  };
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses "4096", "64M", "1.5GiB" (binary units). */
export function parseBytes(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${raw}" is not a size (examples: 4096, 64M, 2GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

export function bytes(
  description: string,
  def: string | undefined,
  range: { min?: number; max?: number } = {},
): OptionSpec<number> {
  return {
    description,
    default: def,
    valueName: 'bytes',
    parse(raw) {
      const n = parseBytes(raw);
      if (range.min !== undefined && n < range.min)
        throw new Error(`${raw} is below the minimum of ${range.min} bytes`);
      if (range.max !== undefined && n > range.max) throw new Error(`${raw} is more than ${range.max} bytes`);
      return n;
    },
  };
}

/** A byte size that must also fit in this machine's memory. */
export function memoryBytes(description: string, def: string | undefined, min = 1): OptionSpec<number> {
  const spec = bytes(description, def, { min });
  return {
    ...spec,
    parse(raw) {
      const n = spec.parse(raw);
      const total = os.totalmem();
      if (n > total) throw new Error(`${raw} is larger than this machine's memory (${total} bytes)`);
      return n;
    },
  };
}

export function oneOf<const V extends string>(
  description: string,
  values: readonly V[],
  def: V | undefined,
): OptionSpec<V> {
  return {
    description,
    default: def,
    valueName: values.join('|'),
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
      return raw as V;
    },
  };
}

export function bool(description: string, def: boolean): OptionSpec<boolean> {
  return {
    description,
    default: String(def),
    valueName: 'true|false',
    parse(raw) {
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error(`"${raw}" is not true or false`);
    },
  };
}

/** host:port; port 0 picks a free one. */
export function address(description: string, def: string | undefined): OptionSpec<string> {
  return str(description, def, (v) => {
    const m = /^(.+):(\d+)$/.exec(v);
    if (!m || Number(m[2]) > 65535) return `"${v}" is not host:port`;
    return undefined;
  });
}

/** Optional value: empty string means "not set". */
export function optional<T>(spec: OptionSpec<T>): OptionSpec<T | undefined> {
  return { ...spec, default: spec.default ?? '', parse: (raw) => (raw === '' ? undefined : spec.parse(raw)) };
}

// ---- loading ------------------------------------------------------------

/**
 * Options every service has, whose service-specific variable falls back to a
 * shared one: VSWAP_ZSWAP_LOG_LEVEL, then VSWAP_LOG_LEVEL, then the default
 * (likewise VSWAP_HEAP_GROWTH_PERCENT).
 */
export const SHARED_OPTIONS: ReadonlySet<string> = new Set(['logLevel', 'heapGrowthPercent']);

/** The log levels pino knows, for every service's logLevel option. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoadConfigOptions {
  /** Program name for --help and errors. */
  program: string;
  /** Prefix of the environment variables, e.g. "VSWAP_ZSWAP". */
  envPrefix: string;
  /** Default process.argv.slice(2). */
  argv?: readonly string[];
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads every option from flags, then the environment, then its default, and
 * validates it. Throws ConfigError naming the first bad option. `--help`
 * prints the options and exits.
 */
export function loadConfig<S extends OptionSpecs>(specs: S, options: LoadConfigOptions): ConfigOf<S> {
  const env = options.env ?? process.env;
  const cmd = new Command(options.program).exitOverride().allowExcessArguments(false);
  cmd.configureOutput({ writeErr: () => {} });
  for (const [key, spec] of Object.entries(specs)) {
    const def = spec.default === undefined ? ' (required)' : spec.default === '' ? '' : ` (default: ${spec.default})`;
    cmd.addOption(
      new Option(
        `--${kebab(key)} <${spec.valueName}>`,
        `${spec.description}${def} [env: ${envName(options.envPrefix, key)}]`,
      ),
    );
  }
  try {
    cmd.parse([...(options.argv ?? process.argv.slice(2))], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.help'))
      process.exit(0);
    throw new ConfigError(err instanceof Error ? err.message.replace(/^error: /, '') : String(err));
  }
  const flags = cmd.opts<Record<string, string | undefined>>();
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const value =
      flags[key] ??
      env[envName(options.envPrefix, key)] ??
      (SHARED_OPTIONS.has(key) ? env[envName('VSWAP', key)] : undefined) ??
      spec.default;
    const name = `--${kebab(key)} (${envName(options.envPrefix, key)})`;
    if (value === undefined) throw new ConfigError(`${name} is required`);
    try {
      out[key] = spec.parse(value);
    } catch (err) {
      throw new ConfigError(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out as ConfigOf<S>;
}

/** Rows for the README's configuration reference. */
export function describeOptions(
  specs: OptionSpecs,
  envPrefix: string,
): { flag: string; env: string; default: string; description: string; valueName: string }[] {
  return Object.entries(specs).map(([key, spec]) => ({
    flag: `--${kebab(key)}`,
    env: envName(envPrefix, key),
    default: spec.default ?? '(required)',
    description: spec.description,
    valueName: spec.valueName,
  }));
}

/** Environment variables the services and clients share (read here only). */
export function sharedEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { logLevel: string } = { logLevel: 'info' },
): {
  logLevel: string;
  coordinatorAddress: string;
  path: string;
  readyFile: string | undefined;
  /** Bearer token of SDK and vswapctl calls; '' (set but empty) means none, not even .vswap/admin.token. */
  token: string | undefined;
  /** CA file clients check the coordinator's certificate with; '' means plaintext, not even .vswap/tls/ca.pem. */
  ca: string | undefined;
  /** The cluster secret, for tools that call a backend directly (bench:backends); '' means none. */
  clusterToken: string | undefined;
} {
  return {
    token: env.VSWAP_TOKEN,
    ca: env.VSWAP_CA,
    clusterToken: env.VSWAP_CLUSTER_TOKEN,
    path: env.PATH ?? '',
    // A service also writes its ready line to this file while it serves (the container health check reads it).
    readyFile: env.VSWAP_READY_FILE || undefined,
    logLevel: env.VSWAP_LOG_LEVEL ?? defaults.logLevel,
    coordinatorAddress: env.VSWAP_ADDRESS ?? '127.0.0.1:50051',
  };
}

// ---- encryption at rest of the Redis stores -----------------------------

/** A key ring read from a file at start (see page-cipher.ts for the format). */
export function keyRingFile(description: string): OptionSpec<KeyRing | undefined> {
  return {
    description,
    default: '',
    valueName: 'path',
    parse(raw) {
      if (raw === '') return undefined;
      let text: string;
      try {
        text = fs.readFileSync(raw, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      try {
        return parseKeyRing(text);
      } catch (err) {
        throw new Error(`${raw}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

/** A key ring given as text (a variable): entries separated by commas. */
export function keyRingText(description: string): OptionSpec<KeyRing | undefined> {
  return {
    description,
    default: '',
    valueName: 'id:key,...',
    parse: (raw) => (raw === '' ? undefined : parseKeyRing(raw)),
  };
}

/** The options of a service with a Redis store about encrypting its pages. */
export function redisEncryptionOptions() {
  return {
    encryptionKeyFile: keyRingFile(
      'key ring for the pages kept in Redis (AES-256-GCM): lines of ' +
        '<id>:<key>, newest first (it encrypts; the others still decrypt), key ' +
        '= 32 bytes as 64 hex digits or base64',
    ),
    encryptionKeys: keyRingText(
      'the same key ring as a value (entries separated by commas), instead ' +
        'of --encryption-key-file; prefer the file or the variable to the ' +
        'flag, which other users see in ps',
    ),
    allowPlaintextRedis: bool(
      'with no key: store pages in Redis unencrypted even when Redis is not ' +
        'on this machine (on loopback that is allowed, with a warning)',
      false,
    ),
  };
}

/**
 * The key ring of a Redis store, or undefined for plaintext (then `warning`
 * says so, to log at start). Throws ConfigError when both key options are
 * given, or when no key is given for a Redis that is not on loopback without
 * --allow-plaintext-redis.
 */
export function resolveRedisEncryption(
  config: { encryptionKeyFile: KeyRing | undefined; encryptionKeys: KeyRing | undefined; allowPlaintextRedis: boolean },
  envPrefix: string,
  redisUrl: string,
): { keyRing: KeyRing } | { keyRing: undefined; warning: string } {
  const file = `--encryption-key-file (${envName(envPrefix, 'encryptionKeyFile')})`;
  const keys = `--encryption-keys (${envName(envPrefix, 'encryptionKeys')})`;
  const allow = `--allow-plaintext-redis (${envName(envPrefix, 'allowPlaintextRedis')})`;
  if (config.encryptionKeyFile && config.encryptionKeys) throw new ConfigError(`give ${file} or ${keys}, not both`);
  const keyRing = config.encryptionKeyFile ?? config.encryptionKeys;
  if (keyRing) return { keyRing };
  if (!config.allowPlaintextRedis && !isLoopbackUrl(redisUrl)) {
    throw new ConfigError(
      `${file}: no key to encrypt the pages kept in Redis at ` +
        `${redactRedisUrl(redisUrl)}, which is not on this machine; give a key ` +
        `file (or ${keys}), or ${allow} to store them unencrypted`,
    );
  }
  return {
    keyRing: undefined,
    warning:
      'pages are stored in Redis unencrypted (no ' +
      `${file}${config.allowPlaintextRedis ? `; ${allow}` : '; allowed because Redis is on loopback'})`,
  };
}

/** True for a redis:// URL whose host is this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The URL without its password, for logs and errors. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
