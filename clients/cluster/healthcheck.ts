#!/usr/bin/env node
/**
 * A container health check through the standard gRPC health service:
 *   node dist/clients/cluster/healthcheck.js host:port [service] [--timeout-ms N]
 *   node dist/clients/cluster/healthcheck.js --ready-file PATH [service] [--timeout-ms N]
 * TLS with --ca <pem> (the cluster CA); a backend that asks for client
 * certificates (mutual TLS) also needs --cert <pem> --key <pem>.
 * With --ready-file, the address is read from the ready line the service
 * wrote there (VSWAP_READY_FILE): the image's HEALTHCHECK works for whichever
 * service and port the container runs; no file means not ready yet.
 * Exits 0 when grpc.health.v1.Health/Check answers SERVING (for the whole
 * server, or for `service`, e.g. vswap.v1.Backend), 1 otherwise, printing one
 * line either way. Used by docker-compose.yml and its test.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { parseReadyLine } from '../../services/common/ready';
import { clientChannel } from '../../services/common/auth/tls-channel';

export interface HealthCheckOptions {
  /** Service name to ask about; default "" (the whole server). */
  service?: string;
  /** Default 3000 ms. */
  timeoutMs?: number;
  /** TLS: the CA the server's certificate must be signed by, and a client certificate and key if it asks for one. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

export type HealthCheckResult = { ok: true; status: 'SERVING' } | { ok: false; error: string };

interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): void;
}
type HealthClientConstructor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options: grpc.ChannelOptions,
) => HealthClient;

let ctor: HealthClientConstructor | undefined;

function healthClientConstructor(): HealthClientConstructor {
  if (!ctor) {
    const def = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: HealthClientConstructor } } };
    };
    ctor = pkg.grpc.health.v1.Health;
  }
  return ctor;
}

/** One Health/Check call. */
export function checkHealth(address: string, options: HealthCheckOptions = {}): Promise<HealthCheckResult> {
  const channel = clientChannel(address, options.tls);
  const client = new (healthClientConstructor())(address, channel.credentials, channel.options);
  const service = options.service ?? '';
  return new Promise<HealthCheckResult>((resolve) => {
    client.check({ service }, { deadline: Date.now() + (options.timeoutMs ?? 3000) }, (err, res) => {
      client.close();
      if (err) resolve({ ok: false, error: `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}` });
      else if (res?.status === 'SERVING') resolve({ ok: true, status: 'SERVING' });
      else resolve({ ok: false, error: `status ${res?.status ?? 'missing'}` });
    });
  });
}

function usage(): never {
  process.stderr.write(
    'usage: healthcheck (host:port | --ready-file PATH) [service] [--timeout-ms N] [--ca PEM [--cert PEM --key PEM]]\n',
  );
  process.exit(2);
}

/** The address to dial from a ready file: a wildcard bind is reached on loopback. */
export function addressFromReadyFile(file: string): { ok: true; address: string } | { ok: false; error: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { ok: false, error: `not ready: no ready file ${file}` };
  }
  const line = parseReadyLine(text.trim());
  if (!line) return { ok: false, error: `not ready: ${file} holds no ready line` };
  const sep = line.address.lastIndexOf(':');
  const host = line.address.slice(0, sep);
  const dial = host === '0.0.0.0' || host === '[::]' || host === '::' ? '127.0.0.1' : host;
  return { ok: true, address: `${dial}:${line.address.slice(sep + 1)}` };
}

async function main(argv: string[]): Promise<void> {
  const positional: string[] = [];
  let timeoutMs = 3000;
  let readyFile: string | undefined;
  const pem: { ca?: string; cert?: string; key?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--ca' || a === '--cert' || a === '--key') {
      const file = argv[++i];
      if (!file) usage();
      pem[a.slice(2) as 'ca' | 'cert' | 'key'] = file;
    } else if (a === '--ready-file') {
      readyFile = argv[++i];
      if (!readyFile) usage();
    } else if (a === '--timeout-ms') {
      timeoutMs = Number(argv[++i]);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage();
    } else if (a.startsWith('-')) usage();
    else positional.push(a);
  }
  if (readyFile !== undefined) {
    const found = addressFromReadyFile(readyFile);
    if (!found.ok) {
      process.stdout.write(`${found.error}\n`);
      process.exit(1);
    }
    positional.unshift(found.address);
  }
  const [address, service] = positional;
  if (!address || positional.length > 2 || !/^.+:\d+$/.test(address)) usage();
  if ((pem.cert === undefined) !== (pem.key === undefined) || (pem.cert !== undefined && pem.ca === undefined)) usage();
  let tls: HealthCheckOptions['tls'];
  try {
    if (pem.ca !== undefined)
      tls = {
        ca: fs.readFileSync(pem.ca),
        cert: pem.cert === undefined ? undefined : fs.readFileSync(pem.cert),
        key: pem.key === undefined ? undefined : fs.readFileSync(pem.key),
      };
  } catch (err) {
    process.stdout.write(
      `cannot read ${(err as NodeJS.ErrnoException).path ?? 'a PEM file'}: ${(err as Error).message}\n`,
    );
    process.exit(1);
  }
  const result = await checkHealth(address, { service, timeoutMs, tls });
  const what = `${address}${service ? ` ${service}` : ''}`;
  if (result.ok) {
    process.stdout.write(`${what}: SERVING\n`);
    process.exit(0);
  }
  process.stdout.write(`${what}: ${result.error}\n`);
  process.exit(1);
}

if (require.main === module) void main(process.argv.slice(2));
