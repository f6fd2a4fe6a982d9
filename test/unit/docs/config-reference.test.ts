/**
 * The README's configuration reference is generated from the option
 * declarations in the code; this fails when the two differ, so the README
 * cannot drift. Fix: `npm run docs:config`, and commit README.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const README = path.resolve(__dirname, '../../../README.md');

describe('README configuration reference', () => {
  it('is what the code generates (run npm run docs:config when this fails)', async () => {
    const { findSection, renderConfigReference } = await import('../../../clients/cluster/config-reference.js');
    const section = findSection(fs.readFileSync(README, 'utf8'));
    expect(section.ok, section.ok ? '' : section.error).toBe(true);
    if (!section.ok) return;
    expect(section.value.section).toBe(`\n${await renderConfigReference()}`);
  });

  it('covers every option of the three services and of npm start', async () => {
    const { renderConfigReference } = await import('../../../clients/cluster/config-reference.js');
    const { coordinatorOptions } = await import('../../../services/coordinator/config.js');
    const { zswapOptionSpecs, ZSWAP_ENV_PREFIX } = await import('../../../services/zswap/config.js');
    const { swapfileOptions, SWAPFILE_ENV_PREFIX } = await import('../../../services/swapfile/config.js');
    const { describeOptions } = await import('../../../services/common/config.js');
    const { startCommand } = await import('../../../clients/cluster/start-options.js');
    const text = await renderConfigReference();
    const vars = [
      ...describeOptions(coordinatorOptions, 'VSWAP_COORDINATOR'),
      ...describeOptions(zswapOptionSpecs, ZSWAP_ENV_PREFIX),
      ...describeOptions(swapfileOptions, SWAPFILE_ENV_PREFIX),
    ].map((r) => r.env);
    for (const v of [...vars, 'VSWAP_ADDRESS', 'VSWAP_LOG_LEVEL']) expect(text).toContain(`\`${v}\``);
    for (const o of startCommand().options) expect(text).toContain(`\`${o.flags}\``);
  });
});
