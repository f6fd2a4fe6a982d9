/** inspect, put, get: slots and the pages in them. */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { MAX_BATCH, PAGE_SIZE } from '../../services/common/limits';
import { type CliContext, UsageError, formatSlotRuns, parseCount, parseSlotList } from './cli-context';
import { textTable } from './text-table';

function readInput(file: string): Buffer {
  try {
    return file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function registerSlotCommands(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description('show slots: swap count, tier, backend, owner')
    .argument('<slots...>', 'slot ids or ranges (12, 12-15, 3,5,7)')
    .requiredOption('--owner <owner>', 'owner of the slots')
    .option('--json', 'print one JSON object: {"slots": [...]}')
    .action(async (args: string[], opts: { owner: string; json?: boolean }) => {
      const slots = parseSlotList(args);
      const infos = await ctx.sdk().inspect(opts.owner, slots);
      if (opts.json)
        return ctx.out(
          JSON.stringify({
            slots: infos.map((s) => ({
              slot: s.slot,
              count: s.count,
              tier: s.tier,
              backend: s.backend,
              owner: s.owner,
              handle: s.handle,
              checksum: s.checksum,
              in_swap_cache: s.inSwapCache,
            })),
          }),
        );
      ctx.out(
        textTable(
          ['SLOT', 'COUNT', 'TIER', 'BACKEND', 'OWNER', 'CHECKSUM', 'CACHE'],
          infos.map((s) => [
            s.slot,
            s.count,
            s.tier.replace(/^TIER_/, ''),
            s.backend || '-',
            s.owner,
            s.checksum ? s.checksum.toString(16).padStart(8, '0') : '-',
            s.inSwapCache ? 'yes' : '-',
          ]),
          new Set([0, 1]),
        ),
      );
    });

  program
    .command('put')
    .description("swap a file's pages out (the last page padded with zeros); prints the slot ids, one run per line")
    .argument('<file>', "file to store ('-' for stdin)")
    .requiredOption('--owner <owner>', 'owner of the new slots')
    .option('--json', 'print {"slots": [...], "bytes": N, "pages": N}')
    .action(async (file: string, opts: { owner: string; json?: boolean }) => {
      const data = readInput(file);
      const pageCount = Math.ceil(data.length / PAGE_SIZE);
      const padded = Buffer.alloc(pageCount * PAGE_SIZE);
      data.copy(padded);
      const pages: Buffer[] = [];
      for (let i = 0; i < pageCount; i++) pages.push(padded.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
      const slots: number[] = [];
      const client = ctx.sdk();
      try {
        for (let i = 0; i < pages.length; i += MAX_BATCH)
          slots.push(...(await client.swapOut(opts.owner, pages.slice(i, i + MAX_BATCH))).slots);
      } catch (err) {
        // All or nothing: give back what the earlier batches took.
        if (slots.length > 0)
          await client
            .free(opts.owner, slots)
            .catch(() =>
              ctx.err(
                `vswapctl: could not free ${slots.length} slots already stored: ${formatSlotRuns(slots).join(' ')}`,
              ),
            );
        throw err;
      }
      if (opts.json) return ctx.out(JSON.stringify({ slots, bytes: data.length, pages: pageCount }));
      if (slots.length > 0) ctx.out(formatSlotRuns(slots).join('\n'));
      if (ctx.io.stderr.isTTY) ctx.err(`stored ${data.length} bytes in ${pageCount} pages`);
    });

  program
    .command('get')
    .description('load pages from slots into a file, in the order given')
    .argument('<slots...>', 'slot ids or ranges (12, 12-15, 3,5,7)')
    .requiredOption('--owner <owner>', 'owner of the slots')
    .requiredOption('-o, --out <file>', "file to write ('-' for stdout)")
    .option('--release', 'also drop one reference from each slot (a swap-in)')
    .addOption(
      new Option('--size <bytes>', 'truncate the output to this many bytes (the size put read)').argParser(
        parseCount('--size'),
      ),
    )
    .action(async (args: string[], opts: { owner: string; out: string; release?: boolean; size?: number }) => {
      const slots = parseSlotList(args);
      if (new Set(slots).size !== slots.length && opts.release)
        throw new UsageError('--release with the same slot twice would drop two references');
      if (opts.size !== undefined && opts.size > slots.length * PAGE_SIZE)
        throw new UsageError(`--size ${opts.size} is more than the ${slots.length} pages hold`);
      const client = ctx.sdk();
      const pages: Buffer[] = [];
      // Batches of distinct slots (a request may name a slot once); release in one call per batch.
      for (let i = 0; i < slots.length; i += MAX_BATCH) {
        const chunk = slots.slice(i, i + MAX_BATCH);
        const distinct = [...new Set(chunk)];
        const got = await client.load(opts.owner, distinct, { release: opts.release === true });
        const bySlot = new Map(distinct.map((s, k) => [s, got[k]!]));
        for (const s of chunk) pages.push(bySlot.get(s)!);
      }
      let out = Buffer.concat(pages);
      if (opts.size !== undefined) out = out.subarray(0, opts.size);
      if (opts.out === '-') {
        await new Promise<void>((resolve, reject) =>
          ctx.io.stdout.write(out, (err) => (err ? reject(err) : resolve())),
        );
        return;
      }
      try {
        fs.writeFileSync(opts.out, out);
      } catch (err) {
        throw new UsageError(
          `cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    });
}
