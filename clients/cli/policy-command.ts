/** policy: an owner's cgroup-like knobs (memory.zswap.max, memory.zswap.writeback, memory.swap.max). */
import { Option, type Command } from 'commander';
import type { OwnerPolicy } from '../sdk/client';
import { type CliContext, parseCount, parseOnOff } from './cli-context';

export function policyJson(p: OwnerPolicy): Record<string, unknown> {
  return {
    owner: p.owner,
    zswap_max_pages: p.zswapMaxPages,
    zswap_writeback: p.zswapWriteback,
    swap_max_pages: p.swapMaxPages,
  };
}

export function policyText(p: OwnerPolicy): string {
  const limit = (n: number) => (n === 0 ? 'max' : `${n} pages`);
  return (
    [
      `owner             ${p.owner}`,
      `zswap.max         ${limit(p.zswapMaxPages)}`,
      `zswap.writeback   ${p.zswapWriteback ? 'on' : 'off'}`,
      `swap.max          ${limit(p.swapMaxPages)}`,
    ].join('\n') + '\n'
  );
}

export function registerPolicyCommand(program: Command, ctx: CliContext): void {
  program
    .command('policy')
    .description("show or change an owner's limits; with no option it only shows them (0 = no limit)")
    .argument('<owner>', 'the owner')
    .addOption(
      new Option('--zswap-max <pages>', 'pages the owner may keep in zswap (memory.zswap.max)').argParser(
        parseCount('--zswap-max'),
      ),
    )
    .addOption(
      new Option(
        '--zswap-writeback <on|off>',
        'whether its zswap pages may be written back (memory.zswap.writeback)',
      ).argParser(parseOnOff('--zswap-writeback')),
    )
    .addOption(
      new Option('--swap-max <pages>', 'live slots the owner may hold (memory.swap.max)').argParser(
        parseCount('--swap-max'),
      ),
    )
    .option('--json', 'print one JSON object')
    .action(
      async (
        owner: string,
        opts: { zswapMax?: number; zswapWriteback?: boolean; swapMax?: number; json?: boolean },
      ) => {
        const change: Partial<Omit<OwnerPolicy, 'owner'>> = {};
        if (opts.zswapMax !== undefined) change.zswapMaxPages = opts.zswapMax;
        if (opts.zswapWriteback !== undefined) change.zswapWriteback = opts.zswapWriteback;
        if (opts.swapMax !== undefined) change.swapMaxPages = opts.swapMax;
        const sdk = ctx.sdk();
        const got =
          Object.keys(change).length > 0 ? await sdk.setOwnerPolicy(owner, change) : await sdk.getOwnerPolicy(owner);
        // The coordinator may leave `owner` empty in its answer: it is the one asked about.
        const policy = { ...got, owner: got.owner || owner };
        ctx.out(opts.json ? JSON.stringify(policyJson(policy)) : policyText(policy));
      },
    );
}
