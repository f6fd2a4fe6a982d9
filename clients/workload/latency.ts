/** Latency per operation kind, in microseconds, in HDR histograms (3 significant digits). */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

export class LatencyRecorder {
  private readonly histograms = new Map<string, hdr.Histogram>();

  /** Records one call of `op` that started at `startNs` (process.hrtime.bigint()). */
  record(op: string, startNs: bigint): void {
    const us = Number((process.hrtime.bigint() - startNs) / 1000n);
    let h = this.histograms.get(op);
    if (!h) {
      h = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3_600_000_000,
        numberOfSignificantValueDigits: 3,
        useWebAssembly: false,
      });
      this.histograms.set(op, h);
    }
    h.recordValue(Math.max(1, us));
  }

  summary(): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const [op, h] of [...this.histograms].sort(([a], [b]) => a.localeCompare(b))) {
      out[op] = {
        count: h.totalCount,
        p50Us: h.getValueAtPercentile(50),
        p99Us: h.getValueAtPercentile(99),
        maxUs: h.maxValue,
        meanUs: Math.round(h.mean),
      };
    }
    return out;
  }

  reset(): void {
    this.histograms.clear();
  }
}
