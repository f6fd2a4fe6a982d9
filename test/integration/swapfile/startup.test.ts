import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectStartFailure } from '../../support/service';
import { freePort } from '../../support/ports';
import { ENTRY, randomPages, startSwapfile, tempDir } from './helpers';

async function refuses(args: string[], option: string, env: Record<string, string> = {}): Promise<string> {
  const { code, stderr } = await expectStartFailure({ entry: ENTRY, args: ['--listen', '127.0.0.1:0', ...args], env });
  expect(code).toBe(1);
  // Logs on stderr are JSON records (a warning may be flushed after the
  // reason); the reason is the one plain line, and it names the option.
  const reasons = stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('{'));
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toContain(option);
  return reasons[0]!;
}

describe('swapfile service start-up', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a capacity of 0', async () => {
    const line = await refuses(['--path', path.join(dir, 'a'), '--capacity-pages', '0'], '--capacity-pages');
    expect(line).toContain('VSWAP_SWAPFILE_CAPACITY_PAGES');
    expect(fs.existsSync(path.join(dir, 'a'))).toBe(false);
  });

  it('refuses a capacity of 0 given in the environment', async () => {
    await refuses(['--path', path.join(dir, 'a')], 'VSWAP_SWAPFILE_CAPACITY_PAGES', {
      VSWAP_SWAPFILE_CAPACITY_PAGES: '0',
    });
  });

  it('refuses a bad fsync value', async () => {
    const line = await refuses(['--path', path.join(dir, 'b'), '--fsync', 'sometimes'], '--fsync');
    expect(line).toContain('always, batch, never');
  });

  it('refuses an unreachable Redis, naming the option', async () => {
    const port = await freePort();
    const line = await refuses(['--store', 'redis', '--redis-url', `redis://127.0.0.1:${port}`], '--redis-url');
    expect(line).toContain(`127.0.0.1:${port}`);
  });

  it('refuses store=redis without a Redis URL', async () => {
    await refuses(['--store', 'redis'], '--redis-url');
  });

  it('refuses a swap file path it cannot create', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    await refuses(['--path', path.join(blocker, 'swapfile')], '--path');
  });

  it('refuses to shrink a swap file below its used pages, and keeps them', async () => {
    const file = path.join(dir, 'shrink');
    const r = await startSwapfile(['--path', file, '--capacity-pages', '2048']);
    await r.client.put(randomPages(512));
    await r.client.put(randomPages(512));
    await r.stop();
    await refuses(['--path', file, '--capacity-pages', '600'], '--capacity-pages');
    const again = await startSwapfile(['--path', file, '--capacity-pages', '2048']);
    try {
      expect((await again.client.info()).usedPages).toBe(1024);
    } finally {
      await again.stop();
    }
  });
});
