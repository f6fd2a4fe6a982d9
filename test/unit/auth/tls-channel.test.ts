/**
 * tlsChannel (services/common/auth/tls-channel.ts): which targets are IP
 * addresses, what their channels get (a DNS-style server name, the caller's
 * options kept), and that the certificate check it installs judges the IP
 * dialled, not the server name sent.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf, type PemPair } from '../../../clients/credentials/certificates';
import { IP_TARGET_SERVER_NAME, clientChannel, targetIp, tlsChannel } from '../../../services/common/auth/tls-channel';
import { CHANNEL_OPTIONS } from '../../../services/common/proto';

describe('targetIp', () => {
  it.each([
    ['127.0.0.1:5000', '127.0.0.1'],
    ['10.1.2.3', '10.1.2.3'],
    ['[::1]:5000', '::1'],
    ['dns:127.0.0.1:5000', '127.0.0.1'],
    ['dns:///127.0.0.1:5000', '127.0.0.1'],
    ['ipv4:127.0.0.2:1,127.0.0.3:2', '127.0.0.2'],
    ['ipv6:[::1]:5000', '::1'],
    ['localhost:5000', undefined],
    ['coordinator:7000', undefined],
    ['dns:///vswap.example.internal:443', undefined],
    ['unix:/tmp/vswap.sock', undefined],
  ])('%s -> %s', (target, ip) => {
    expect(targetIp(target)).toBe(ip);
  });
});

describe('tlsChannel', () => {
  let ca: PemPair;
  let forIp: PemPair;
  let forName: PemPair;
  /** What Node's TLS handshake hands checkServerIdentity: the peer certificate's subject and SANs. */
  const peer = (pair: PemPair): PeerCertificate => {
    const x = new X509Certificate(pair.cert);
    return { subject: { CN: 'vswap' }, subjectaltname: x.subjectAltName } as unknown as PeerCertificate;
  };
  /** The check grpc-js will make: its wrapper passes the server name override, not the target. */
  const checkOf = (credentials: grpc.ChannelCredentials) =>
    (credentials as unknown as { verifyOptions: grpc.VerifyOptions }).verifyOptions.checkServerIdentity;

  beforeAll(async () => {
    ca = await createCa({ commonName: 'test ca', days: 1 });
    forIp = await issueLeaf(ca, { commonName: 'vswap', usage: 'server', days: 1, names: ['127.0.0.1'] });
    forName = await issueLeaf(ca, { commonName: 'vswap', usage: 'server', days: 1, names: ['localhost'] });
  });

  it('an IP target: a DNS-style server name, the caller options kept, the certificate checked against the IP', () => {
    const { credentials, options } = tlsChannel('127.0.0.1:5000', { ca: Buffer.from(ca.cert) }, CHANNEL_OPTIONS);
    expect(options).toEqual({ ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': IP_TARGET_SERVER_NAME });
    expect(CHANNEL_OPTIONS['grpc.ssl_target_name_override']).toBeUndefined();
    const check = checkOf(credentials)!;
    expect(check(IP_TARGET_SERVER_NAME, peer(forIp))).toBeUndefined();
    expect(check(IP_TARGET_SERVER_NAME, peer(forName))?.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
  });

  it("a host name target: grpc-js's own behaviour (no override, no check of ours)", () => {
    const { credentials, options } = tlsChannel('localhost:5000', { ca: Buffer.from(ca.cert) }, CHANNEL_OPTIONS);
    expect(options).toBe(CHANNEL_OPTIONS);
    expect(checkOf(credentials)).toBeUndefined();
  });

  it("keeps a caller's own server name override", () => {
    const mine = { 'grpc.ssl_target_name_override': 'vswap.example.internal' };
    expect(tlsChannel('127.0.0.1:5000', { ca: Buffer.from(ca.cert) }, mine).options).toBe(mine);
  });

  it('clientChannel without TLS is plaintext with the options unchanged', () => {
    const { credentials, options } = clientChannel('127.0.0.1:5000', undefined, CHANNEL_OPTIONS);
    expect(credentials._isSecure()).toBe(false);
    expect(options).toBe(CHANNEL_OPTIONS);
  });
});
