#!/usr/bin/env node
/** vswapctl: the command-line tool of a vswap cluster (see program.ts). */
import { runCli } from './program';

// `vswapctl stats | head`: the reader went away; that is not an error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vswapctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
