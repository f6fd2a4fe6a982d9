/**
 * The one line a service prints on stdout once it serves, so that whoever
 * started it (npm start, tests, the fault harness) learns the bound address
 * when it asked for port 0. Logs go to stderr.
 */
export const READY_PREFIX = 'VSWAP_READY ';

export interface ReadyLine {
  service: string;
  address: string;
  pid: number;
}

export function announceReady(service: string, address: string): void {
  const line: ReadyLine = { service, address, pid: process.pid };
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(line)}\n`);
}

export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith(READY_PREFIX)) return undefined;
  return JSON.parse(line.slice(READY_PREFIX.length)) as ReadyLine;
}
