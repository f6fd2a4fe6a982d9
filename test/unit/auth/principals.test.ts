import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DEFAULT_CLIENT_LIMITS, OwnerScope, parsePrincipals } from '../../../services/coordinator/auth/principals';

const hash = (t: string): string => createHash('sha256').update(t).digest('hex');

describe('principals file', () => {
  it('reads YAML and JSON alike, with documented defaults', () => {
    const yaml = `principals:\n  - name: a\n    token_sha256: ${hash('t')}\n    role: client\n    owners: ["a/*"]\n`;
    const json = JSON.stringify({
      principals: [{ name: 'a', token_sha256: hash('t'), role: 'client', owners: ['a/*'] }],
    });
    for (const text of [yaml, json]) {
      const set = parsePrincipals(text);
      const p = set.byToken.get(hash('t'))!;
      expect(p.name).toBe('a');
      expect(p.limits).toEqual(DEFAULT_CLIENT_LIMITS);
      expect(set.maxOwnersTotal).toBe(100_000);
    }
  });

  it('names the first bad field, and never takes a token in clear for its hash', () => {
    const bad: [string, RegExp][] = [
      ['principals: {}', /"principals" must be a list/],
      ['principals:\n  - name: a\n    token_sha256: secret\n    role: client\n    owners: [a]', /64 hex digits/],
      [
        `principals:\n  - name: a\n    token_sha256: ${hash('t')}\n    role: root\n    owners: [a]`,
        /role must be client or admin/,
      ],
      [`principals:\n  - name: a\n    role: client\n    owners: [a]`, /needs token_sha256 or cert_cn/],
      [
        `principals:\n  - name: a\n    token_sha256: ${hash('t')}\n    role: client\n    owners: ["a*"]`,
        /not an owner name/,
      ],
      [
        `principals:\n  - {name: a, token_sha256: ${hash('t')}, role: client, ` +
          `owners: [a]}\n  - {name: b, token_sha256: ${hash('t')}, role: client, ` +
          'owners: [b]}',
        /same token as principal "a"/,
      ],
      [
        `principals:\n  - {name: a, token_sha256: ${hash('t')}, role: client, owners: [a], limits: {max_slots: -1}}`,
        /max_slots/,
      ],
      [`principals:\n  - {name: a, token: x, role: client, owners: [a]}`, /unknown field "token"/],
      ['principals: [', /not YAML or JSON/],
    ];
    for (const [text, re] of bad) expect(() => parsePrincipals(text), text).toThrow(re);
  });

  it('matches owners by exact name, by prefix ending in /*, or *', () => {
    const s = new OwnerScope(['alice', 'host-17/*']);
    expect(s.includes('alice')).toBe(true);
    expect(s.includes('alice2')).toBe(false);
    expect(s.includes('host-17/a')).toBe(true);
    expect(s.includes('host-17/')).toBe(false);
    expect(s.includes('host-17')).toBe(false);
    expect(s.includes('host-170/a')).toBe(false);
    expect(new OwnerScope(['*']).includes('anyone')).toBe(true);
  });
});
