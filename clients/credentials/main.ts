#!/usr/bin/env node
/**
 * Creates a cluster's credentials, or keeps them when they are there:
 *   node dist/clients/credentials/main.js --dir /creds [--san host]... [--json]
 * The docker-compose one-shot service runs it into the volume every service
 * mounts; `npm start` calls the same code for `.vswap/`. Prints every file
 * and whether it was written or kept; exits 2 on a bad command line, 1 when
 * the files cannot be written.
 */
import { Command, CommanderError } from 'commander';
import { ensureCredentials, type CredentialsResult } from './credentials';
import { CREDENTIAL_FILES, DEFAULT_CREDENTIALS_DIR, type CredentialFile } from './layout';

/** A readable report: one line per file. */
export function describeResult(r: CredentialsResult): string {
  const lines = [`credentials in ${r.paths.dir}:`];
  for (const key of Object.keys(CREDENTIAL_FILES) as CredentialFile[]) {
    const why = r.written[key];
    lines.push(`  ${r.paths[key]}  ${why === undefined ? 'kept' : why === 'new' ? 'created' : `written: ${why}`}`);
  }
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('vswap-credentials')
    .description(
      'Create the CA, certificates, tokens and principals file of a vswap cluster (existing files are kept).',
    )
    .option('--dir <dir>', 'directory of the credentials', DEFAULT_CREDENTIALS_DIR)
    .option('--san <name>', 'one more DNS name or IP the server certificate is valid for (repeatable)', collect, [])
    .option('--json', 'print one JSON object: paths, written (with why), kept', false)
    .allowExcessArguments(false)
    .exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = program.opts<{ dir: string; san: string[]; json: boolean }>();
  const result = await ensureCredentials({ dir: o.dir, extraServerNames: o.san });
  process.stdout.write(`${o.json ? JSON.stringify(result) : describeResult(result)}\n`);
  return 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`vswap-credentials: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
