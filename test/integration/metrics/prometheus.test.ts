/**
 * A real Prometheus scrapes every service of a local cluster (as `npm start`
 * runs it) once a second while a workload runs; what it stored must agree
 * with what the coordinator says through Stats and ListBackends.
 */
import { describe, expect, it, afterEach } from 'vitest';
import { Workload } from '../../../clients/workload';
import { clusterPerTest, until } from '../coordinator/helpers';
import { freePort } from '../../support/ports';
import { Prometheus, havePrometheus } from '../../support/prometheus';

const tierCount = (list: { name: string; value: number }[], name: string): number =>
  list.find((c) => c.name === name)?.value ?? 0;

describe.skipIf(!havePrometheus())(
  "metrics scraped by Prometheus (needs Debian's prometheus package; .ci/run installs it)",
  () => {
    const fixture = clusterPerTest();
    let prom: Prometheus | undefined;
    afterEach(async () => {
      await prom?.stop();
      prom = undefined;
    });

    it('agree with Stats and ListBackends after a workload, and grew while it ran', { timeout: 120_000 }, async () => {
      const [cm, zm, sm] = [await freePort(), await freePort(), await freePort()];
      const client = await fixture.start({
        coordinatorArgs: ['--metrics-listen', `127.0.0.1:${cm}`],
        zswap: { args: ['--metrics-listen', `127.0.0.1:${zm}`] },
        swapfiles: [{ name: 'swapfile', args: ['--metrics-listen', `127.0.0.1:${sm}`] }],
      });
      prom = await Prometheus.start({
        coordinator: [`127.0.0.1:${cm}`],
        zswap: [`127.0.0.1:${zm}`],
        swapfile: [`127.0.0.1:${sm}`],
      });
      await prom.scrapedAfter(Date.now());
      expect(await prom.value('count(up == 1)')).toBe(3);

      // Some pages go straight to the swapfile (written back), most stay in zswap.
      const report = await new Workload(client, { processes: 4, durationMs: 4000, seed: 7 }).run();
      expect(report.corruptions).toBe(0);
      expect(report.pagesOut).toBeGreaterThan(0);
      const written = await client.writeback(100);
      expect(written).toBeGreaterThan(0);

      // Quiet cluster: wait until backend copies of freed slots are deleted, then read the figures.
      const backends = await until(
        async () => ({ list: await client.listBackends(), stats: await client.stats() }),
        ({ list, stats }) =>
          list.find((b) => b.name === 'zswap')?.usedPages === tierCount(stats.pagesByTier, 'TIER_ZSWAP') &&
          list.find((b) => b.name === 'swapfile')?.usedPages === tierCount(stats.pagesByTier, 'TIER_SWAPFILE'),
        10_000,
      );
      const stats = await client.stats();
      const list = await client.listBackends();
      // Idle: the figures compared below did not move meanwhile (journal fsync counters may).
      const figures = (s: typeof stats) => ({
        usedSlots: s.usedSlots,
        pagesByTier: s.pagesByTier,
        swapOuts: s.swapOuts,
        swapIns: s.swapIns,
        zswap: s.zswap,
      });
      expect(figures(stats)).toEqual(figures(backends.stats));
      const at = Date.now();
      await prom.scrapedAfter(at);

      const empty = tierCount(stats.pagesByTier, 'TIER_EMPTY');
      expect(await prom.value('sum(vswap_pages)')).toBe(stats.usedSlots - empty);
      expect(await prom.value('vswap_used_slots')).toBe(stats.usedSlots);
      for (const tier of ['zero', 'zswap', 'swapfile', 'lost']) {
        expect(await prom.value(`vswap_pages{tier="${tier}"}`), tier).toBe(
          tierCount(stats.pagesByTier, `TIER_${tier.toUpperCase()}`),
        );
      }
      expect(await prom.value('vswap_pswpout_total')).toBe(stats.swapOuts);
      expect(await prom.value('vswap_pswpin_total')).toBe(stats.swapIns);
      expect(stats.swapOuts).toBeGreaterThanOrEqual(report.pagesOut);
      expect(await prom.value('vswap_zswap_stored_pages')).toBe(list.find((b) => b.name === 'zswap')!.usedPages);
      expect(await prom.value('vswap_zswap_pool_total_size_bytes')).toBe(tierCount(stats.zswap, 'pool_total_size'));
      expect(await prom.value('vswap_zswpout_total')).toBe(tierCount(stats.zswap, 'zswpout'));
      expect(await prom.value('vswap_zswpwb_total')).toBe(tierCount(stats.zswap, 'written_back_pages'));
      expect(await prom.value('vswap_zswpwb_total')).toBeGreaterThanOrEqual(written);
      expect(await prom.value('sum(vswap_zswap_reject_total)')).toBe(
        tierCount(stats.zswap, 'reject_compress_poor') +
          tierCount(stats.zswap, 'reject_compress_fail') +
          tierCount(stats.zswap, 'reject_alloc_fail'),
      );
      expect(await prom.value('vswap_swapfile_used_pages')).toBe(list.find((b) => b.name === 'swapfile')!.usedPages);
      expect(await prom.value('vswap_lost_pages_total')).toBe(0);
      expect(await prom.value('vswap_checksum_failures_total')).toBe(0);
      expect(await prom.value('vswap_reconciles_total')).toBeGreaterThanOrEqual(2);
      expect(await prom.value('vswap_journal_commits_total')).toBeGreaterThan(0);
      // The journal's fsync time: present whenever fsyncs happened, the longest no more than the total.
      if ((await prom.value('vswap_journal_fsyncs_total')) > 0) {
        const fsyncSeconds = await prom.value('vswap_journal_fsync_seconds_total');
        const fsyncMax = await prom.value('vswap_journal_fsync_max_seconds');
        expect(fsyncSeconds).toBeGreaterThan(0);
        expect(fsyncMax).toBeGreaterThan(0);
        expect(fsyncMax).toBeLessThanOrEqual(fsyncSeconds);
      }
      // Per-owner series: the workload's owners, and their pages add up to the total.
      expect(await prom.value('sum(vswap_owner_pswpout_total)')).toBe(stats.swapOuts);
      expect(await prom.value('sum(vswap_owner_used_slots)')).toBe(stats.usedSlots);

      // gRPC server metrics: every SwapOut the coordinator answered, by code; zswap's Puts.
      const swapOutCalls = await prom.value('sum(grpc_server_handled_total{job="coordinator",grpc_method="SwapOut"})');
      expect(swapOutCalls).toBe(report.operations.swapOut);
      expect(await prom.value('sum(grpc_server_handling_seconds_count{job="coordinator",grpc_method="SwapOut"})')).toBe(
        swapOutCalls,
      );
      expect(
        await prom.value('sum(grpc_server_handled_total{job="zswap",grpc_method="Put",grpc_code="OK"})'),
      ).toBeGreaterThan(0);
      expect(await prom.value('process_resident_memory_bytes{job="zswap"}')).toBeGreaterThan(0);

      // Scraped while the workload ran: some stored sample lies strictly between none and the final count.
      const during = await prom.value(`count_over_time((vswap_pswpout_total > 0 < ${stats.swapOuts})[2m:1s])`);
      expect(during).toBeGreaterThan(0);
    });
  },
);
