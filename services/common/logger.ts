import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Service name in every record. */
  name: string;
  /** pino level; default "info". */
  level?: string;
}

/** Structured JSON logs on stderr, so stdout stays free for a CLI's output. */
export function createLogger(options: LoggerOptions): Logger {
  return pino({ name: options.name, level: options.level ?? 'info' }, pino.destination(2));
}
