/**
 * Credentials for tests that attack a secure cluster: the generator's CA,
 * certificates and tokens (clients/credentials), principals added to its
 * principals file, raw clients that present exactly what a test gives them
 * (a token or none, a CA or plaintext, a client certificate or none), and the
 * gRPC status a call ended with.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parse, stringify } from 'yaml';
import { ensureCredentials, newToken, tokenSha256 } from '../../clients/credentials/credentials';
import type { CredentialPaths } from '../../clients/credentials/layout';
import type { PemPair } from '../../clients/credentials/certificates';
import { type ClientTls, clientChannel } from '../../services/common/auth/tls-channel';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../services/common/proto';
import type { VirtualSwapClient } from '../../proto/generated/vswap/v1/VirtualSwap';

export async function makeCredentials(dir: string): Promise<CredentialPaths> {
  return (await ensureCredentials({ dir })).paths;
}

export interface TestPrincipal {
  name: string;
  role: 'client' | 'admin';
  owners: string[];
  limits?: { max_owners?: number; max_slots?: number; max_in_flight?: number };
  cert_cn?: string;
  /** false: no token (certificate only). */
  token?: boolean;
}

/** Adds principals to the principals file (keeping what it holds); returns each one's new token. */
export function addPrincipals(file: string, principals: TestPrincipal[]): Record<string, string> {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { principals: Record<string, unknown>[] };
  const tokens: Record<string, string> = {};
  for (const p of principals) {
    const { token, ...rest } = p;
    const entry: Record<string, unknown> = { ...rest };
    if (token !== false) {
      tokens[p.name] = newToken();
      entry.token_sha256 = tokenSha256(tokens[p.name]!);
    }
    doc.principals = doc.principals.filter((q) => q.name !== p.name);
    doc.principals.push(entry);
  }
  writeAtomically(file, stringify(doc));
  return tokens;
}

/** Replaces a file as an editor does (temporary file, rename). */
export function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

export interface RawClientOptions {
  /** CA PEM: TLS; none: plaintext. */
  ca?: Buffer;
  /** Client certificate presented in the TLS handshake. */
  cert?: PemPair;
  /** The whole authorization metadata value, e.g. "Bearer x"; none: no metadata. */
  authorization?: string;
}

/** The TLS a raw client presents (undefined: plaintext), for tlsChannel or a BackendClient. */
export function clientTls(o: RawClientOptions): ClientTls | undefined {
  if (o.ca === undefined) return undefined;
  return { ca: o.ca, key: o.cert ? Buffer.from(o.cert.key) : null, cert: o.cert ? Buffer.from(o.cert.cert) : null };
}

export function metadataOf(o: RawClientOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  if (o.authorization !== undefined) md.set('authorization', o.authorization);
  return md;
}

/** A VirtualSwap client that sends exactly what it is given. */
export function rawCoordinator(address: string, o: RawClientOptions): VirtualSwapClient {
  const channel = clientChannel(address, clientTls(o), CHANNEL_OPTIONS);
  return new (loadVswapProto().vswap.v1.VirtualSwap)(address, channel.credentials, channel.options);
}

export type Outcome<T = unknown> = { code: grpc.status; details: string; value?: T };

/** Calls a unary method of a raw client; resolves with its status (OK = 0) and details. */
export function unaryOutcome<T = unknown>(
  client: grpc.Client,
  method: string,
  request: object,
  o: RawClientOptions,
  deadlineMs = 10_000,
): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    fn.call(
      client,
      request,
      metadataOf(o),
      { deadline: Date.now() + deadlineMs },
      (err: grpc.ServiceError | null, value?: T) =>
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', value }),
    );
  });
}

/** Reads a server stream to its end; resolves with its status. */
export function streamOutcome(
  client: grpc.Client,
  method: string,
  request: object,
  o: RawClientOptions,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<unknown>>)[method]!;
    const call = fn.call(client, request, metadataOf(o), { deadline: Date.now() + 10_000 });
    call.on('data', () => {});
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    call.on('end', () => resolve({ code: grpc.status.OK, details: '' }));
  });
}

export const bearer = (token: string): string => `Bearer ${token}`;
