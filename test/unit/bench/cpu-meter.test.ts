import { describe, expect, it } from 'vitest';
import { CpuMeter } from '../../../clients/bench/children';

/** Spins until this process has used `ms` more of CPU (not of wall time: the machine may be busy). */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe('CpuMeter', () => {
  it('charges each process the CPU it used in the measured windows only, per 1000 pages, with their total', async () => {
    const meter = new CpuMeter({ client: process.pid, gone: 2 ** 22 + 1 });
    await meter.measure(async () => {
      burnCpu(150);
      return { pages: 50 };
    });
    burnCpu(200); // between windows: not charged
    await meter.measure(async () => {
      burnCpu(150);
      return { pages: 50 };
    });
    const figures = meter.msPer1000Pages();
    // >= 300 ms of CPU over 100 pages: >= 3000 ms per 1000 pages (less one 10 ms tick per reading).
    expect(figures.client).toBeGreaterThanOrEqual(2600);
    // The 200 ms spent between the windows would have made it >= 5000.
    expect(figures.client).toBeLessThan(5000);
    // A pid with no /proc entry reads NaN rather than a made-up 0, and so does the total.
    expect(figures.gone).toBeNaN();
    expect(figures.total).toBeNaN();
  });

  it('reads NaN before any page was measured', () => {
    expect(new CpuMeter({ client: process.pid }).msPer1000Pages().client).toBeNaN();
  });
});
