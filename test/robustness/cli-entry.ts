/**
 * The `ipvs-sim` command run from the sources (for tests that need a real
 * process: signals, resident memory): `node --import tsx cli-entry.ts ARGS`.
 * It reports its peak resident memory (VmHWM, kB) on stderr when
 * IPVS_SIM_REPORT_RSS is set.
 */
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';

function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return Math.round(process.memoryUsage().rss / 1024);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (process.env.IPVS_SIM_REPORT_RSS) process.stderr.write(`peak-rss-kb ${peakRssKb()}\n`);
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 70;
  },
);
