/** stats: the coordinator's counters under the kernel's names, once or refreshing. */
import { Option, type Command } from 'commander';
import type { Stats } from '../sdk/client';
import { type CliContext, humanBytes, parseCount, parseDurationMs } from './cli-context';
import { textTable } from './text-table';

type Counter = { name: string; value: number };
const toObject = (cs: readonly Counter[]): Record<string, number> =>
  Object.fromEntries(cs.map((c) => [c.name, c.value]));

/** The JSON form: snake_case keys and counters as objects, as /sys/kernel/debug/zswap names them. */
export function statsJson(s: Stats): Record<string, unknown> {
  return {
    used_slots: s.usedSlots,
    pages_by_tier: toObject(s.pagesByTier),
    swap_outs: s.swapOuts,
    swap_ins: s.swapIns,
    slot_table_bytes: s.slotTableBytes,
    max_swap_count: s.maxSwapCount,
    zswap: toObject(s.zswap),
    counters: toObject(s.counters),
    owners: s.owners.map((o) => ({
      owner: o.owner,
      used_slots: o.usedSlots,
      pages_by_tier: toObject(o.pagesByTier),
      swap_outs: o.swapOuts,
      swap_ins: o.swapIns,
      policy: o.policy
        ? {
            zswap_max_pages: o.policy.zswapMaxPages,
            zswap_writeback: o.policy.zswapWriteback,
            swap_max_pages: o.policy.swapMaxPages,
          }
        : null,
    })),
  };
}

export function statsText(s: Stats, owner: string): string {
  const lines: string[] = [];
  const kv = (rows: [string, string | number][]) => {
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) lines.push(`${k.padEnd(w)}  ${v}`);
  };
  lines.push(owner ? `owner ${owner}` : 'all owners');
  kv([
    ['used_slots', s.usedSlots],
    ['swap_outs', s.swapOuts],
    ['swap_ins', s.swapIns],
    ['slot_table_bytes', `${s.slotTableBytes} (${humanBytes(s.slotTableBytes)})`],
    ['max_swap_count', s.maxSwapCount],
  ]);
  if (s.pagesByTier.length > 0) {
    lines.push('', 'pages by tier');
    kv(s.pagesByTier.map((c) => [c.name, c.value]));
  }
  if (s.zswap.length > 0) {
    lines.push('', 'zswap');
    kv(s.zswap.map((c) => [c.name, c.value]));
  }
  if (s.counters.length > 0) {
    lines.push('', 'coordinator');
    kv(s.counters.map((c) => [c.name, c.value]));
  }
  if (s.owners.length > 0) {
    lines.push('');
    const tier = (cs: readonly Counter[], name: string) => cs.find((c) => c.name === name)?.value ?? 0;
    lines.push(
      textTable(
        ['OWNER', 'SLOTS', 'ZERO', 'ZSWAP', 'SWAPFILE', 'LOST', 'SWAP_OUTS', 'SWAP_INS'],
        s.owners.map((o) => [
          o.owner,
          o.usedSlots,
          tier(o.pagesByTier, 'TIER_ZERO'),
          tier(o.pagesByTier, 'TIER_ZSWAP'),
          tier(o.pagesByTier, 'TIER_SWAPFILE'),
          tier(o.pagesByTier, 'TIER_LOST'),
          o.swapOuts,
          o.swapIns,
        ]),
        new Set([1, 2, 3, 4, 5, 6, 7]),
      ).trimEnd(),
    );
  }
  return lines.join('\n') + '\n';
}

export function registerStatsCommand(program: Command, ctx: CliContext): void {
  program
    .command('stats')
    .description('slot and zswap counters (kernel names: stored_pages, pool_total_size, written_back_pages, ...)')
    .option('--owner <owner>', "one owner's slots (zswap counters stay global)")
    .option('--json', 'print one JSON object (with --watch: one per line)')
    .addOption(
      new Option('-w, --watch [secs]', 'refresh every secs seconds (default 2) until interrupted').argParser(
        parseDurationMs('--watch', 1000),
      ),
    )
    .addOption(
      new Option('-c, --count <n>', 'with --watch: stop after n refreshes').argParser(parseCount('--count', 1)),
    )
    .action(async (opts: { owner?: string; json?: boolean; watch?: number | true; count?: number }) => {
      const owner = opts.owner ?? '';
      const show = async (clear: boolean) => {
        const s = await ctx.sdk().stats(owner);
        if (opts.json) return ctx.out(JSON.stringify(statsJson(s)));
        ctx.out((clear ? '\x1b[H\x1b[2J' : '') + statsText(s, owner));
      };
      if (opts.watch === undefined) return show(false);
      const intervalMs = opts.watch === true ? 2000 : opts.watch;
      const tty = ctx.io.stdout.isTTY === true && !opts.json;
      let stopped = false;
      const onSig = () => void (stopped = true);
      process.once('SIGINT', onSig);
      try {
        for (let i = 0; !stopped && (opts.count === undefined || i < opts.count); i++) {
          if (i > 0) {
            await new Promise((r) => setTimeout(r, intervalMs));
            if (stopped) break;
            if (!tty && !opts.json) ctx.out('');
          }
          await show(tty);
        }
      } finally {
        process.removeListener('SIGINT', onSig);
      }
    });
}
