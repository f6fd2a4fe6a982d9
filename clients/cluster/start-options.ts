/**
 * The flags of `npm start` (clients/cluster/main.ts), declared apart from the
 * program so that the README's configuration reference is generated from the
 * same declarations (see config-reference.ts).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseBytes } from '../../services/common/config';

export interface StartOptions {
  /** Everything on disk goes under here. Default ".vswap". */
  dataDir: string;
  /** Coordinator port on 127.0.0.1. Default 50051 (where vswapctl and the SDK look). */
  port: number;
  /** zswap pool limit, e.g. "64M". Default "64M". */
  zswapPool: string;
  /** Compressor of the zswap pool. Default "lz4". */
  compressor: 'lz4' | 'zstd' | 'deflate';
  /** Capacity of the file-backed swapfile, in 4 KiB pages. Default 65536 (256 MiB). */
  swapfilePages: number;
  /** Redis for a second, lower-priority swapfile service (the remote tier). */
  redisUrl: string | undefined;
  /** Start a private redis-server under the data directory for the remote tier. */
  withRedis: boolean;
}

function positiveInt(what: string, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`"${raw}" is not a whole number`);
    const n = Number(raw);
    if (n < 1 || n > max) throw new InvalidArgumentError(`${what} must be between 1 and ${max}`);
    return n;
  };
}

function poolSize(raw: string): string {
  try {
    if (parseBytes(raw) < 64 * 1024) throw new Error(`"${raw}" is below the minimum of 64K`);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return raw;
}

function redisUrl(raw: string): string {
  if (!/^rediss?:\/\/./.test(raw)) throw new InvalidArgumentError(`"${raw}" is not a redis:// or rediss:// URL`);
  return raw;
}

/** The `npm start` command line (not parsed yet). */
export function startCommand(): Command {
  return new Command('vswap-cluster')
    .description(
      'Start a local vswap cluster: a coordinator, a zswap service and a ' +
        'file-backed swapfile service, as child processes.',
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'directory for everything the cluster keeps on disk (journal, swap files, logs, private Redis)',
      ).default('.vswap'),
    )
    .addOption(
      new Option(
        '--port <port>',
        'coordinator port on 127.0.0.1 (vswapctl and the SDK look at ' +
          '127.0.0.1:50051 unless VSWAP_ADDRESS says otherwise)',
      )
        .default(50051)
        .argParser(positiveInt('--port', 65535)),
    )
    .addOption(new Option('--zswap-pool <bytes>', 'zswap pool limit (e.g. 64M, 1G)').default('64M').argParser(poolSize))
    .addOption(new Option('--compressor <name>', 'zswap compressor').choices(['lz4', 'zstd', 'deflate']).default('lz4'))
    .addOption(
      new Option('--swapfile-pages <pages>', 'capacity of the file-backed swapfile in 4 KiB pages (65536 = 256 MiB)')
        .default(65536)
        .argParser(positiveInt('--swapfile-pages', 2 ** 28)),
    )
    .addOption(
      new Option(
        '--redis-url <url>',
        'also attach a swapfile service storing pages in this Redis (the ' +
          'remote tier), at a lower priority than the local file',
      ).argParser(redisUrl),
    )
    .addOption(
      new Option(
        '--with-redis',
        'start a private redis-server (must be on PATH) under the data directory and use it as --redis-url',
      )
        .default(false)
        .conflicts('redisUrl'),
    )
    .allowExcessArguments(false);
}

/** Parses argv (without node and the script) into StartOptions; commander reports bad flags and exits. */
export function parseStartOptions(argv: readonly string[]): StartOptions {
  const cmd = startCommand();
  cmd.parse([...argv], { from: 'user' });
  const o = cmd.opts<{
    dataDir: string;
    port: number;
    zswapPool: string;
    compressor: StartOptions['compressor'];
    swapfilePages: number;
    redisUrl?: string;
    withRedis: boolean;
  }>();
  return {
    dataDir: o.dataDir,
    port: o.port,
    zswapPool: o.zswapPool,
    compressor: o.compressor,
    swapfilePages: o.swapfilePages,
    redisUrl: o.redisUrl,
    withRedis: o.withRedis,
  };
}
