/**
 * The principals file, kept current without a restart: re-read on SIGHUP
 * (main.ts calls reload) and when the file changes (polled with
 * fs.watchFile, so an editor's rename-over is seen too; bursts of changes are
 * debounced). A file that does not parse keeps the principals already loaded,
 * and the error is logged.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../../common/config';
import type { Logger } from '../../common/logger';
import { type PrincipalSet, parsePrincipals } from './principals';

export interface PrincipalsFileOptions {
  file: string;
  log: Logger;
  /** How often the file's stat is polled, in ms; default 1000. */
  pollMs?: number;
  /** Quiet time after a change before the file is read, in ms; default 200. */
  debounceMs?: number;
}

export class PrincipalsFile {
  private set: PrincipalSet;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange: (cur: fs.Stats, prev: fs.Stats) => void;
  /** Successful loads (the first included) and failed reloads, for tests and logs. */
  loads = 0;
  failures = 0;

  /** Reads the file once; throws ConfigError when it cannot (the coordinator does not start). */
  constructor(private readonly o: PrincipalsFileOptions) {
    const first = this.read();
    if (!first.ok) throw new ConfigError(`--principals: ${o.file}: ${first.error}`);
    this.set = first.value;
    this.loads++;
    this.onChange = (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
      this.scheduleReload('file changed');
    };
    fs.watchFile(o.file, { interval: o.pollMs ?? 1000, persistent: false }, this.onChange);
  }

  get current(): PrincipalSet {
    return this.set;
  }

  private read(): { ok: true; value: PrincipalSet } | { ok: false; error: string } {
    try {
      return { ok: true, value: parsePrincipals(fs.readFileSync(this.o.file, 'utf8')) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  private scheduleReload(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload(reason);
    }, this.o.debounceMs ?? 200);
    this.timer.unref();
  }

  /** Reads the file now; on error keeps the principals loaded before. Returns whether it loaded. */
  reload(reason: string): boolean {
    const next = this.read();
    if (!next.ok) {
      this.failures++;
      this.o.log.error(
        { file: this.o.file, reason, error: next.error },
        'principals file not reloaded: keeping the principals loaded before',
      );
      return false;
    }
    this.set = next.value;
    this.loads++;
    this.o.log.info(
      { file: this.o.file, reason, principals: next.value.principals.length },
      'principals file reloaded',
    );
    return true;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    fs.unwatchFile(this.o.file, this.onChange);
  }
}
