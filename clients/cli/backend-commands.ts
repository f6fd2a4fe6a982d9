/** swaps, swapon, swapoff, writeback: the backends, as swapon(8) shows them. */
import { Option, type Command } from 'commander';
import * as cliProgress from 'cli-progress';
import { PAGE_SIZE } from '../../services/common/limits';
import type { BackendInfo } from '../sdk/client';
import { type CliContext, humanBytes, parseCount, parseInteger } from './cli-context';
import { textTable } from './text-table';

export function backendRow(b: BackendInfo): (string | number)[] {
  return [
    b.name,
    b.kind,
    b.store,
    b.priority,
    b.reachable === false ? `${b.state} (unreachable)` : b.state,
    humanBytes(b.capacityPages * PAGE_SIZE),
    humanBytes(b.usedPages * PAGE_SIZE),
  ];
}
const BACKEND_HEADERS = ['NAME', 'KIND', 'STORE', 'PRIO', 'STATE', 'SIZE', 'USED'];
const RIGHT = new Set([3, 5, 6]);

export function backendJson(b: BackendInfo): Record<string, unknown> {
  return {
    name: b.name,
    kind: b.kind,
    store: b.store,
    address: b.address,
    priority: b.priority,
    state: b.state,
    capacity_pages: b.capacityPages,
    used_pages: b.usedPages,
    stored_bytes: b.storedBytes,
    reachable: b.reachable,
  };
}

export function registerBackendCommands(program: Command, ctx: CliContext): void {
  program
    .command('swaps')
    .description('list the backends, like swapon --show: NAME KIND STORE PRIO STATE SIZE USED')
    .option('--json', 'print one JSON object: {"backends": [...]}')
    .option('--bytes', 'sizes in bytes instead of K/M/G')
    .action(async (opts: { json?: boolean; bytes?: boolean }) => {
      const backends = await ctx.sdk().listBackends();
      if (opts.json) return ctx.out(JSON.stringify({ backends: backends.map(backendJson) }));
      const rows = backends.map((b) => {
        const r = backendRow(b);
        if (opts.bytes) {
          r[5] = b.capacityPages * PAGE_SIZE;
          r[6] = b.usedPages * PAGE_SIZE;
        }
        return r;
      });
      ctx.out(textTable(BACKEND_HEADERS, rows, RIGHT));
    });

  program
    .command('swapon')
    .description('put a configured backend (back) into service; on an active backend, set its priority')
    .argument('<backend>', 'backend name (see vswapctl swaps)')
    .addOption(
      new Option('-p, --priority <prio>', 'priority: higher is used first')
        .argParser(parseInteger('--priority'))
        .default(0),
    )
    .action(async (backend: string, opts: { priority: number }) => {
      const b = await ctx.sdk().swapon(backend, opts.priority);
      if (b) ctx.out(textTable(BACKEND_HEADERS, [backendRow(b)], RIGHT));
      else ctx.out(`swapon ${backend}: priority ${opts.priority}`);
    });

  program
    .command('swapoff')
    .description('migrate every slot off a backend and stop using it (slot ids do not change)')
    .argument('<backend>', 'backend name (see vswapctl swaps)')
    .option('--quiet', 'no progress, only the final line')
    .action(async (backend: string, opts: { quiet?: boolean }) => {
      const tty = ctx.io.stdout.isTTY === true && !opts.quiet;
      let bar: cliProgress.SingleBar | undefined;
      let moved = 0;
      let lastLine = 0;
      try {
        for await (const p of ctx.sdk().swapoff(backend)) {
          moved = p.moved;
          const total = p.moved + p.remaining;
          if (tty) {
            bar ??= new cliProgress.SingleBar(
              {
                format: `swapoff ${backend} [{bar}] {percentage}% | {value}/{total} pages`,
                stream: ctx.io.stdout as NodeJS.WriteStream,
                hideCursor: true,
                clearOnComplete: false,
              },
              cliProgress.Presets.shades_classic,
            );
            if (!bar.isActive) bar.start(Math.max(total, 1), p.moved);
            bar.setTotal(Math.max(total, 1));
            bar.update(p.done ? Math.max(total, 1) : p.moved);
          } else if (!opts.quiet && !p.done && Date.now() - lastLine >= 200) {
            // Plain lines for logs and pipes, at most five a second.
            lastLine = Date.now();
            ctx.out(`swapoff ${backend}: moved ${p.moved} pages, ${p.remaining} remaining`);
          }
        }
      } finally {
        bar?.stop();
      }
      ctx.out(`swapoff ${backend}: done, moved ${moved} pages`);
    });

  program
    .command('writeback')
    .description("move the coldest zswap pages to the next tier down, like zswap's writeback")
    .addOption(new Option('-n, --pages <n>', 'most pages to move').argParser(parseCount('--pages', 1)).default(512))
    .option('--owner <owner>', "only this owner's pages")
    .option('--json', 'print {"written": N}')
    .action(async (opts: { pages: number; owner?: string; json?: boolean }) => {
      const written = await ctx.sdk().writeback(opts.pages, opts.owner ?? '');
      ctx.out(opts.json ? JSON.stringify({ written }) : `wrote back ${written} pages`);
    });
}
