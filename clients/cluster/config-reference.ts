#!/usr/bin/env node
/**
 * The README's configuration reference, generated from the option
 * declarations in the code (the services' config.ts via describeOptions, the
 * `npm start` flags, the shared variables), so that it cannot drift:
 *   node dist/clients/cluster/config-reference.js            print the section
 *   node dist/clients/cluster/config-reference.js --write F  rewrite it in F (npm run docs:config)
 *   node dist/clients/cluster/config-reference.js --check F  exit 1 when F's section differs
 * test/unit/docs/config-reference.test.ts runs the check.
 */
import * as fs from 'node:fs';
import { describeOptions, sharedEnv } from '../../services/common/config';
import { DEFAULT_HEAP_GROWTH_PERCENT } from '../../services/common/heap-growth';
import { startCommand } from './start-options';

export const BEGIN_MARKER = '<!-- config:begin -->';
export const END_MARKER = '<!-- config:end -->';

/** A table cell: pipes escaped, newlines flattened. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** Prose from the code: angle brackets and stars would turn into HTML or emphasis. */
function prose(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*/g, '\\*');
}

function code(text: string): string {
  return text === '' ? '(none)' : `\`${text}\``;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** The services' option declarations. */
async function serviceSpecs() {
  const [{ coordinatorOptions }, { zswapOptionSpecs, ZSWAP_ENV_PREFIX }, { swapfileOptions, SWAPFILE_ENV_PREFIX }] =
    await Promise.all([
      import('../../services/coordinator/config.js'),
      import('../../services/zswap/config.js'),
      import('../../services/swapfile/config.js'),
    ]);
  return [
    {
      title: 'Coordinator',
      entry: 'dist/services/coordinator/main.js',
      rows: describeOptions(coordinatorOptions, 'VSWAP_COORDINATOR'),
    },
    { title: 'zswap', entry: 'dist/services/zswap/main.js', rows: describeOptions(zswapOptionSpecs, ZSWAP_ENV_PREFIX) },
    {
      title: 'swapfile',
      entry: 'dist/services/swapfile/main.js',
      rows: describeOptions(swapfileOptions, SWAPFILE_ENV_PREFIX),
    },
  ];
}

/** The markdown between the markers (markers excluded), ending with a newline. */
export async function renderConfigReference(): Promise<string> {
  const out: string[] = ['<!-- generated from the code by `npm run docs:config`: do not edit by hand -->', ''];

  out.push('### `npm start` (clients/cluster/main.ts)', '');
  const start = startCommand().options.map((o) => {
    const def = o.defaultValue === undefined || o.defaultValue === false ? '' : String(o.defaultValue);
    const choices = o.argChoices ? ` (one of ${o.argChoices.join(', ')})` : '';
    return [`\`${o.flags}\``, code(def), prose(`${o.description}${choices}`)];
  });
  out.push(table(['flag', 'default', 'description'], start), '');

  out.push('### Shared environment variables', '');
  out.push(
    'Every service option below is a flag or an environment variable; a ' +
      'flag wins over the variable, the variable over the default.',
    '',
  );
  const shared = sharedEnv({});
  out.push(
    table(
      ['variable', 'default', 'description'],
      [
        [
          '`VSWAP_ADDRESS`',
          code(shared.coordinatorAddress),
          'coordinator address that vswapctl, the SDK and the benchmarks use',
        ],
        [
          '`VSWAP_LOG_LEVEL`',
          code(shared.logLevel),
          'log level of every service whose own `VSWAP_*_LOG_LEVEL` is not set ' +
            '(`npm start` writes the logs to `<data-dir>/logs`)',
        ],
        [
          '`VSWAP_HEAP_GROWTH_PERCENT`',
          code(String(DEFAULT_HEAP_GROWTH_PERCENT)),
          'heap growth of every service whose own `VSWAP_*_HEAP_GROWTH_PERCENT` is not set ' +
            '(see Benchmarks, *Heap growth*)',
        ],
        [
          '`VSWAP_READY_FILE`',
          '',
          'a service also writes its ready line (`VSWAP_READY ' +
            '{"service","address","metrics",...}`) to this file while it serves; ' +
            "the image's health check reads it (`healthcheck.js --ready-file`)",
        ],
        [
          '`VSWAP_TOKEN`',
          '',
          'bearer token vswapctl and the SDK send (`authorization: Bearer ' +
            '<token>`); unset: `.vswap/admin.token` if there; set but empty: none',
        ],
        [
          '`VSWAP_CA`',
          '',
          'CA certificate (PEM file) vswapctl and the SDK check the ' +
            "coordinator's TLS certificate with; unset: `.vswap/tls/ca.pem` if " +
            'there, else plaintext; set but empty: plaintext',
        ],
        [
          '`VSWAP_CLUSTER_TOKEN`',
          '',
          'the cluster secret, by convention, for tools of yours that call a backend ' +
            "directly (unset: read `.vswap/cluster.token`); vswap's own tools need none " +
            '(`npm run bench:backends` starts its backends with credentials of its own)',
        ],
      ],
    ),
    '',
  );

  for (const s of await serviceSpecs()) {
    out.push(`### ${s.title} (\`node ${s.entry}\`)`, '');
    out.push(
      table(
        ['flag', 'environment variable', 'default', 'description'],
        s.rows.map((r) => [
          `\`${r.flag} <${r.valueName}>\``,
          `\`${r.env}\``,
          r.default === '(required)' ? r.default : code(r.default),
          prose(r.description),
        ]),
      ),
      '',
    );
  }
  return out.join('\n');
}

export type SectionResult =
  { ok: true; value: { before: string; section: string; after: string } } | { ok: false; error: string };

/** Splits a document at the markers. */
export function findSection(doc: string): SectionResult {
  const b = doc.indexOf(BEGIN_MARKER);
  const e = doc.indexOf(END_MARKER);
  if (b < 0 || e < 0 || e < b) return { ok: false, error: `no ${BEGIN_MARKER} ... ${END_MARKER} section` };
  const start = b + BEGIN_MARKER.length;
  return { ok: true, value: { before: doc.slice(0, start), section: doc.slice(start, e), after: doc.slice(e) } };
}

/** The document with its section replaced by `generated`. */
export function replaceSection(
  doc: string,
  generated: string,
): { ok: true; value: string } | { ok: false; error: string } {
  const found = findSection(doc);
  if (!found.ok) return found;
  return { ok: true, value: `${found.value.before}\n${generated}${found.value.after}` };
}

async function main(argv: string[]): Promise<void> {
  const generated = await renderConfigReference();
  const [mode, file] = argv;
  if (mode === undefined) {
    process.stdout.write(generated);
    return;
  }
  if ((mode !== '--write' && mode !== '--check') || !file) {
    process.stderr.write('usage: config-reference [--write FILE | --check FILE]\n');
    process.exit(2);
  }
  const doc = fs.readFileSync(file, 'utf8');
  const replaced = replaceSection(doc, generated);
  if (!replaced.ok) {
    process.stderr.write(`${file}: ${replaced.error}\n`);
    process.exit(1);
  }
  if (mode === '--check') {
    if (replaced.value !== doc) {
      process.stderr.write(`${file}: the configuration reference is out of date; run npm run docs:config\n`);
      process.exit(1);
    }
    return;
  }
  if (replaced.value !== doc) fs.writeFileSync(file, replaced.value);
  process.stdout.write(
    `${file}: configuration reference ${replaced.value === doc ? 'already up to date' : 'rewritten'}\n`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`config-reference: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
