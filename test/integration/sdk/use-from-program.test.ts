/**
 * The SDK as a program outside this repo uses it: `import { VswapClient }
 * from 'vswap'` from ESM, `require('vswap')` from CommonJS and the types from
 * TypeScript, in a directory where the package is linked into node_modules;
 * and examples/swap-pages.mjs (the README's "Use it from your program"),
 * each against a real cluster with TLS and tokens, taking the address, token
 * and CA from the variables vswapctl reads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import type { CredentialPaths } from '../../../clients/credentials/layout';
import { freePort } from '../../support/ports';
import { REPO_ROOT } from '../../support/service';

let tmp: string;
let app: string;
let cluster: LocalCluster;
let creds: CredentialPaths;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-program-'));
  creds = (await ensureCredentials({ dir: path.join(tmp, 'creds') })).paths;
  cluster = await LocalCluster.start({ dataDir: path.join(tmp, 'data'), credentials: creds });
  env = {
    ...process.env,
    VSWAP_ADDRESS: cluster.address,
    VSWAP_TOKEN: fs.readFileSync(creds.adminToken, 'utf8').trim(),
    VSWAP_CA: creds.ca,
  };
  // A program of its own, with vswap in its node_modules (as `npm install <path>` links it).
  app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.symlinkSync(REPO_ROOT, path.join(app, 'node_modules', 'vswap'), 'dir');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function node(file: string, extraEnv: NodeJS.ProcessEnv = {}, cwd = app) {
  return spawnSync(process.execPath, [file], { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 90_000 });
}

/** What both programs do: a page out and back in, and a call with a wrong token. */
const ROUND_TRIP = `
  const client = new VswapClient();
  const page = Buffer.alloc(4096, 'page of OWNER');
  const { slots } = await client.swapOut('OWNER', [page]);
  const [back] = await client.load('OWNER', slots, { release: true });
  const stranger = new VswapClient({ token: 'vswap_not-a-token' });
  const refused = await stranger.stats().then(() => 'answered', (e) => (e instanceof VswapClientError ? e.codeName : String(e)));
  stranger.close();
  client.close();
  console.log(JSON.stringify({ tls: client.tls, same: back.equals(page), refused }));
`;

describe('the vswap package from a program', () => {
  it("import { VswapClient } from 'vswap' works from ESM", () => {
    fs.writeFileSync(
      path.join(app, 'esm.mjs'),
      `import { VswapClient, VswapClientError } from 'vswap';\n${ROUND_TRIP.replaceAll('OWNER', 'app/esm')}`,
    );
    const r = node('esm.mjs');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ tls: true, same: true, refused: 'UNAUTHENTICATED' });
  });

  it("require('vswap') works from CommonJS", () => {
    fs.writeFileSync(
      path.join(app, 'cjs.cjs'),
      `const { VswapClient, VswapClientError } = require('vswap');\n(async ` +
        `() => {${ROUND_TRIP.replaceAll('OWNER', 'app/cjs')}})();`,
    );
    const r = node('cjs.cjs');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ tls: true, same: true, refused: 'UNAUTHENTICATED' });
  });

  it('gives TypeScript programs its types (a misuse does not compile)', () => {
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [path.join(REPO_ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      `import { VswapClient, VswapClientError, type VswapClientOptions } from 'vswap';
const options: VswapClientOptions = { address: '127.0.0.1:50051', token: null, ca: '.vswap/tls/ca.pem' };
export async function firstSlot(client: VswapClient): Promise<number> {
  const { slots } = await client.swapOut('owner', [Buffer.alloc(4096)]);
  return slots[0] ?? -1;
}
export const codeOf = (e: unknown): string => (e instanceof VswapClientError ? e.codeName : 'other');
// @ts-expect-error pages are Buffers, not strings
void new VswapClient(options).swapOut('owner', ['not a page']);
`,
    );
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The same file with the misuse uncommented fails: the types are real, not any.
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      fs.readFileSync(path.join(app, 'consumer.ts'), 'utf8').replace('// @ts-expect-error', '//'),
    );
    const bad = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/not assignable to type 'Buffer/);
  }, 240_000);
});

describe('examples/swap-pages.mjs', () => {
  const example = path.join(REPO_ROOT, 'examples/swap-pages.mjs');

  it('is the code of the README section "Use it from your program"', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it from your program'));
    const block = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(fs.readFileSync(example, 'utf8'));
  });

  it('swaps out, loads with release and frees, against a cluster with TLS and tokens', () => {
    const r = node(example, {}, REPO_ROOT);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^swapped out 3 pages: slots \d+, \d+, \d+ in TIER_ZSWAP, TIER_ZSWAP, TIER_ZSWAP$/m);
    expect(r.stdout).toContain('loaded 2 pages back, same bytes: true');
    expect(r.stdout).toMatch(/^freed slot \d+: swap count now 0$/m);
  });

  it('says the cluster is unreachable (UNAVAILABLE or DEADLINE_EXCEEDED after retries) and exits 1', async () => {
    const r = node(example, { VSWAP_ADDRESS: `127.0.0.1:${await freePort()}` }, REPO_ROOT);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cluster unreachable at 127\.0\.0\.1:\d+: /m);
  });

  it('says what the cluster refused: a wrong token is UNAUTHENTICATED', () => {
    const r = node(example, { VSWAP_TOKEN: 'vswap_wrong' }, REPO_ROOT);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^refused: UNAUTHENTICATED: /m);
  });
});
