import { describe, expect, it } from 'vitest';
import { positiveInteger } from '../../../clients/bench/option-parsers';
import { runScript } from '../../support/service';

/** bench:snapshot's command line (the compiled script; npm test builds first). Bad options stop it before any cluster starts. */
function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return runScript('clients/bench/journal-snapshot.js', args);
}

describe('bench option parsers', () => {
  it('positiveInteger takes whole numbers from 1 and refuses the rest, saying why', () => {
    expect(positiveInteger('1')).toBe(1);
    expect(positiveInteger('1000000')).toBe(1_000_000);
    for (const bad of ['0', '-3', '1.5', 'many', ''])
      expect(() => positiveInteger(bad), bad).toThrow('must be a positive integer');
  });
});

describe('bench:snapshot options', () => {
  it('a slot count that is not a positive integer is refused naming the option, exit 1, no stack trace', async () => {
    const r = await run(['--slots', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option '--slots <n>' argument '0' is invalid. must be a positive integer");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a window that is not a positive integer is refused', async () => {
    const r = await run(['--seconds', '2.5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option '--seconds <s>' argument '2.5' is invalid. must be a positive integer");
  });
});
