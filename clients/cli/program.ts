/**
 * vswapctl's command line: global options, the commands, and the one place
 * that turns failures into a single "vswapctl: ..." line and an exit code
 * scripts can trust: 0 ok, 1 the cluster refused or failed, 2 bad usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { sharedEnv } from '../../services/common/config';
import { VswapClientError } from '../sdk/errors';
import { registerBackendCommands } from './backend-commands';
import { registerBenchCommand } from './bench-command';
import { CliContext, type CliIo, EXIT_CLUSTER, EXIT_OK, EXIT_USAGE, UsageError, parseDurationMs } from './cli-context';
import { registerPolicyCommand } from './policy-command';
import { registerSlotCommands } from './slot-commands';
import { registerStatsCommand } from './stats-command';

function packageVersion(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vswap') return pkg.version ?? '0.0.0';
    } catch {
      // not here: keep walking up
    }
  }
  return '0.0.0';
}

export function buildProgram(io: CliIo): { program: Command; ctx: CliContext } {
  const program = new Command();
  const ctx = new CliContext(program, io);
  program
    .name('vswapctl')
    .description('Inspect and control a vswap cluster through its coordinator.')
    .version(packageVersion())
    .option('-a, --address <host:port>', 'coordinator address (env VSWAP_ADDRESS)', sharedEnv().coordinatorAddress)
    .option(
      '--token <token>',
      'bearer token (default: env VSWAP_TOKEN, else .vswap/admin.token if there; prefer those: a flag shows in ps)',
    )
    .option(
      '--ca <file>',
      "CA certificate (PEM) of the coordinator's TLS (default: env VSWAP_CA, " +
        'else .vswap/tls/ca.pem if there, else plaintext)',
    )
    .addOption(
      new Option('-t, --timeout <duration>', 'deadline of each request (500ms, 5s, 2m)')
        .argParser(parseDurationMs('--timeout'))
        .default(30_000, '30s'),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`vswapctl: ${oneLine(s.replace(/^error: /, ''))}\n`),
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 the cluster refused or failed (the message names the gRPC code), 2 bad usage.

Examples:
  vswapctl swaps
  vswapctl stats --watch 1
  vswapctl put --owner host-a ./notes.txt            # prints slot ids, e.g. 1-3
  vswapctl get --owner host-a --out copy.txt 1-3 --size 9000
  vswapctl swapoff file0 && vswapctl swapon file0 --priority 10
  vswapctl bench --duration 10s --pattern zipfian --json`,
    );
  registerBackendCommands(program, ctx);
  registerStatsCommand(program, ctx);
  registerSlotCommands(program, ctx);
  registerPolicyCommand(program, ctx);
  registerBenchCommand(program, ctx);
  return { program, ctx };
}

/** Runs vswapctl with argv (as process.argv: node, script, args...) and returns the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const { program, ctx } = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      // Commander already printed its one line (or the help, for a missing command).
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`vswapctl: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof VswapClientError) {
      const why = ctx.credentialsHint(err);
      const hint = why === undefined ? '' : ` (${why})`;
      io.stderr.write(`vswapctl: ${err.codeName}: ${oneLine(err.message)}${hint}\n`);
      return EXIT_CLUSTER;
    }
    io.stderr.write(`vswapctl: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT_CLUSTER;
  } finally {
    ctx.close();
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
