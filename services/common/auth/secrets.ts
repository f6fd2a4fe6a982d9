/**
 * Bearer tokens and secret files: how a credential travels (the
 * `authorization: Bearer <token>` metadata) and how it is compared (SHA-256,
 * then a constant-time comparison of the digests, so neither the length nor
 * the first differing byte of a guess shows in the time taken).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { Metadata } from '@grpc/grpc-js';
import { ConfigError } from '../config';

/** The metadata key of a credential (lower case, as gRPC sends it). */
export const AUTHORIZATION = 'authorization';

/** What the authorization metadata held. */
export type Bearer =
  | { kind: 'none' }
  | { kind: 'malformed' }
  /** `digest`: SHA-256 of the token; the token itself is not kept. */
  | { kind: 'token'; digest: Buffer };

/** Reads `authorization: Bearer <token>` (the scheme is case-insensitive); at most one value. */
export function bearerOf(metadata: Metadata): Bearer {
  const values = metadata.get(AUTHORIZATION);
  if (values.length === 0) return { kind: 'none' };
  if (values.length > 1 || typeof values[0] !== 'string') return { kind: 'malformed' };
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(values[0]);
  if (!m) return { kind: 'malformed' };
  return { kind: 'token', digest: sha256(m[1]!) };
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two SHA-256 digests. */
export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A secret kept alone in a file (a token): its first line, trimmed. Throws
 * ConfigError naming the option when the file cannot be read or is empty.
 */
export function readSecretFile(file: string, option: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(err as Error).message}`);
  }
  const secret = (text.split(/\r?\n/)[0] ?? '').trim();
  if (secret === '') throw new ConfigError(`${option}: ${file} holds no secret on its first line`);
  if (/\s/.test(secret)) throw new ConfigError(`${option}: the secret in ${file} must not contain spaces`);
  return secret;
}

/** A PEM file's bytes; ConfigError naming the option when it cannot be read. */
export function readPemFile(file: string, option: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`${option}: ${file} is not a PEM file`);
  return pem;
}
