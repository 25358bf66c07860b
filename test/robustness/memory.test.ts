/**
 * Huge captures replay in constant memory: the peak resident memory of
 * `ipvs-sim replay` does not grow with the size of its input (a CI-sized
 * check: 50 MB against 200 MB of the same traffic; bench/suites/memory.ts
 * measures multi-gigabyte inputs and SYN floods, docs/robustness.md has the
 * figures).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild } from './cli-run.js';
import { DR_SETUP } from './setups.js';
import { writeSteadyTraffic } from './traffic.js';

/** Peak resident memory (MB) of one replay of `file`, reported by cli-entry.ts. */
async function peakMb(setup: string, file: string, out: string): Promise<number> {
  const r = await runChild(['replay', '--setup', setup, file, '--out-dir', out], {
    IPVS_SIM_REPORT_RSS: '1',
  });
  expect(r.status, r.stderr).to.equal(0);
  const m = /peak-rss-kb (\d+)/.exec(r.stderr);
  expect(m, r.stderr).to.not.equal(null);
  return Number((m as RegExpExecArray)[1]) / 1024;
}

describe('robustness: huge captures in constant memory', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-rss-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('peak RSS replaying 200 MB is within 32 MB of replaying 50 MB (same 2000 flows), and under 300 MB', async () => {
    const setup = path.join(dir, 'dr.setup');
    writeFileSync(setup, DR_SETUP);
    const sizes = [50e6, 200e6];
    const peaks: number[] = [];
    for (const bytes of sizes) {
      const file = path.join(dir, `in-${bytes}.pcap`);
      writeSteadyTraffic(file, { bytes, flows: 2000, perSecond: 100_000 });
      peaks.push(await peakMb(setup, file, path.join(dir, `out-${bytes}`)));
      rmSync(file);
      rmSync(path.join(dir, `out-${bytes}`), { recursive: true });
    }
    expect(peaks[1] - peaks[0], `peaks ${peaks.map((p) => p.toFixed(1)).join(' / ')} MB`).to.be.below(32);
    expect(peaks[1]).to.be.below(300);
  });
});
