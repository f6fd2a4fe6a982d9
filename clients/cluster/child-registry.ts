import type { ChildProcess } from 'node:child_process';
import { spawnService, stopChild, type StartedService, type SpawnServiceOptions } from './spawn-service';

/**
 * Every process a benchmark or the fault harness starts, so that none
 * outlives it: stopped in order at the end, and SIGKILLed synchronously if
 * the program exits any other way (an error, Ctrl-C, an uncaught exception).
 */
export class ChildRegistry {
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.killAllNow();

  constructor() {
    process.on('exit', this.onExit);
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Starts a service and tracks it (also while it is still starting). */
  async startService(options: SpawnServiceOptions): Promise<StartedService> {
    return spawnService({
      ...options,
      onSpawn: (child) => {
        this.track(child);
        options.onSpawn?.(child);
      },
    });
  }

  /** SIGTERM everyone, SIGKILL whoever is still there after graceMs. */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(
      [...this.children].map(async (child) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        timer.unref();
        await stopChild(child, 'SIGTERM');
        clearTimeout(timer);
      }),
    );
  }

  killAllNow(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.children.clear();
  }

  dispose(): void {
    process.off('exit', this.onExit);
  }
}
