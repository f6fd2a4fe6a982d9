import { describe, expect, it } from 'vitest';
import { runScript } from '../../support/service';

/** bench:cluster's command line (the compiled script; npm test builds first). Bad options stop it before any cluster starts. */
function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return runScript('clients/bench/cluster.js', args);
}

describe('bench:cluster options', () => {
  it('an unknown target is refused with the names it may be, exit 1, no stack trace', async () => {
    const r = await run(['--targets', 'zswap,nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `option '--targets <list>' argument 'zswap,nope' is invalid. unknown target "nope": one of zswap, swapfile_file, swapfile_redis`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a length that is not positive is refused', async () => {
    const r = await run(['--seconds', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option '--seconds <s>' argument '0' is invalid. must be a positive number");
  });

  it('a warm-up that is not positive is refused', async () => {
    const r = await run(['--warm-up', '-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option '--warm-up <s>' argument '-1' is invalid. must be a positive number");
  });

  it('a lead-in below 0, or empty, is refused (0 turns it off; an empty value is not 0)', async () => {
    for (const bad of ['-0.5', '']) {
      const r = await run(['--lead-in', bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`option '--lead-in <s>' argument '${bad}' is invalid. must be 0 or a positive number`);
    }
  });

  it('a client heap growth that is not an integer from 0 to 1000 is refused', async () => {
    for (const bad of ['-1', '2.5', '1001']) {
      const r = await run(['--client-heap-growth', bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `option '--client-heap-growth <percent>' argument '${bad}' is invalid. heap growth ${bad}% is not an integer from 0 to 1000`,
      );
    }
  });

  it('a client heap growth that is not a number, or empty, is refused as such (an empty one is not 0)', async () => {
    for (const bad of ['lots', '', ' ']) {
      const r = await run(['--client-heap-growth', bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `option '--client-heap-growth <percent>' argument '${bad}' is invalid. not a number: heap growth is an integer from 0 to 1000`,
      );
    }
  });
});
