/**
 * What every vswapctl command shares: the global options, one SDK client,
 * where output goes, and the two kinds of failure with their exit codes
 * (1: the cluster said no; 2: the command line or a local file is wrong).
 */
import type { Command } from 'commander';
import { status as Status } from '@grpc/grpc-js';
import { VswapClient } from '../sdk/client';
import { VswapClientError } from '../sdk/errors';

export const EXIT_OK = 0;
export const EXIT_CLUSTER = 1;
export const EXIT_USAGE = 2;

/** A problem with the command line or local input: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface GlobalOptions {
  address: string;
  /** Deadline per request, in ms. */
  timeout: number;
  /** Bearer token; default VSWAP_TOKEN, else .vswap/admin.token (the SDK's rule). */
  token?: string;
  /** CA file; default VSWAP_CA, else .vswap/tls/ca.pem (the SDK's rule). */
  ca?: string;
}

/** Output streams, replaceable for in-process tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export class CliContext {
  private client: VswapClient | undefined;
  /** Set by a command that finished but must report failure (e.g. bench found corruptions). */
  exitCode = EXIT_OK;
  constructor(
    readonly program: Command,
    readonly io: CliIo,
  ) {}

  get globals(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  /** The SDK client, made on first use (so --help never connects). */
  sdk(): VswapClient {
    this.client ??= this.newClient();
    return this.client;
  }

  /**
   * A hint for a failure that may be our credentials: UNAUTHENTICATED (where the
   * token came from, or that there was none), a TLS handshake with a server
   * that does not speak TLS (where the CA came from), or no answer over
   * plaintext (the coordinator may serve TLS; not when nothing listens).
   * Undefined otherwise.
   */
  credentialsHint(err: VswapClientError): string | undefined {
    const client = this.client;
    if (err.code === Status.UNAUTHENTICATED) {
      const source = client?.tokenSource === 'option' ? '--token' : client?.tokenSource;
      return source
        ? `the token from ${source} was refused`
        : 'no token: give --token, set VSWAP_TOKEN, or run where .vswap/admin.token is';
    }
    if ((err.code !== Status.UNAVAILABLE && err.code !== Status.DEADLINE_EXCEEDED) || !client) return undefined;
    // OpenSSL's words for a peer that answered the ClientHello with something other than TLS.
    if (client.tls && err.message.includes('wrong version number')) {
      return (
        `over TLS (the CA from ${client.caSource}), but ${client.address} does not answer in TLS: ` +
        'for a plaintext coordinator, run with VSWAP_CA set to empty and no --ca'
      );
    }
    if (!client.tls && !err.message.includes('ECONNREFUSED'))
      return (
        'over plaintext: if the coordinator serves TLS, give --ca, set VSWAP_CA, ' + 'or run where .vswap/tls/ca.pem is'
      );
    return undefined;
  }

  private newClient(): VswapClient {
    try {
      return new VswapClient({
        address: this.globals.address,
        deadlineMs: this.globals.timeout,
        token: this.globals.token,
        ca: this.globals.ca,
        readRetries: 1,
      });
    } catch (err) {
      // A token or CA file that cannot be used is a local problem: exit code 2.
      if (err instanceof VswapClientError && err.code === Status.INVALID_ARGUMENT) throw new UsageError(err.message);
      throw err;
    }
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  err(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

// ---- argument parsers (each throws UsageError naming what is wrong) ---------

export function parseCount(name: string, min = 0): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${name} must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be at least ${min}, got ${raw}`);
    return n;
  };
}

export function parseInteger(name: string): (raw: string) => number {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`${name} must be an integer, got "${raw}"`);
    return Number(raw);
  };
}

/** "500ms", "5s", "2m" or a bare number of ms. */
export function parseDurationMs(name: string, bareUnitMs = 1): (raw: string) => number {
  return (raw) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw);
    if (!m) throw new UsageError(`${name} must be a duration like 500ms, 5s or 2m, got "${raw}"`);
    const unit = m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : bareUnitMs;
    const ms = Math.round(Number(m[1]) * unit);
    if (ms <= 0) throw new UsageError(`${name} must be more than 0`);
    return ms;
  };
}

export function parseOnOff(name: string): (raw: string) => boolean {
  return (raw) => {
    const v = raw.toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(v)) return true;
    if (['off', 'false', '0', 'no'].includes(v)) return false;
    throw new UsageError(`${name} must be on or off, got "${raw}"`);
  };
}

/** Slot arguments: "12", "12-15" (inclusive), or several separated by commas. */
export function parseSlotList(args: readonly string[]): number[] {
  const slots: number[] = [];
  for (const arg of args)
    for (const part of arg.split(',').filter((s) => s.length > 0)) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
      if (!m) throw new UsageError(`"${part}" is not a slot id or a range like 12-15`);
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a)
        throw new UsageError(`"${part}" is not a valid slot range`);
      if (b - a >= 1 << 20) throw new UsageError(`"${part}" names more than ${1 << 20} slots`);
      for (let s = a; s <= b; s++) slots.push(s);
    }
  if (slots.length === 0) throw new UsageError('no slots given');
  return slots;
}

/** Slot ids as runs: [5,6,7,9] -> ["5-7", "9"] (what put prints and get reads). */
export function formatSlotRuns(slots: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < slots.length;) {
    let j = i;
    while (j + 1 < slots.length && slots[j + 1] === slots[j]! + 1) j++;
    out.push(j === i ? String(slots[i]) : `${slots[i]}-${slots[j]}`);
    i = j + 1;
  }
  return out;
}

/** 4096 -> "4K", 1536 MiB -> "1.5G" (like swapon --show). */
export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n}B`;
  const s = v >= 10 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${s}${units[u]}`;
}
