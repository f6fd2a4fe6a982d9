/**
 * The one line a service prints on stdout once it serves, so that whoever
 * started it (npm start, tests, the fault harness) learns the bound address
 * when it asked for port 0. Logs go to stderr. With VSWAP_READY_FILE set, the
 * same line is also written to that file while the service serves (removed at
 * start and when it stops), so a container health check can find the address
 * of whichever service the image runs.
 */
import * as fs from 'node:fs';
import { sharedEnv } from './config';

export const READY_PREFIX = 'VSWAP_READY ';

export interface ReadyLine {
  service: string;
  address: string;
  pid: number;
  /** host:port of the metrics endpoint, when the service serves one. */
  metrics?: string;
}

export function announceReady(service: string, address: string, extra: { metrics?: string } = {}): void {
  const line: ReadyLine = { service, address, pid: process.pid, ...(extra.metrics ? { metrics: extra.metrics } : {}) };
  const text = `${READY_PREFIX}${JSON.stringify(line)}\n`;
  const file = sharedEnv().readyFile;
  if (file) {
    // Written whole then renamed: a health check never reads half a line.
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
  }
  process.stdout.write(text);
}

/** Removes the ready file (at start, in case a restarted container kept it, and on stop). */
export function withdrawReady(): void {
  const file = sharedEnv().readyFile;
  if (file) fs.rmSync(file, { force: true });
}

export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith(READY_PREFIX)) return undefined;
  return JSON.parse(line.slice(READY_PREFIX.length)) as ReadyLine;
}
