/**
 * Memory benchmark: the peak resident memory (VmHWM) of `ipvs-sim replay`,
 * each run in a process of its own (dist/test/robustness/cli-entry.js, which
 * reports it), on generated captures written at run time (never committed):
 *
 * - huge captures: steady traffic over a fixed set of 2000 flows (mixed
 *   frame sizes, test/robustness/traffic.ts) of increasing size, up to 4 GB
 *   (smoke: 2 and 8 MB), replayed to /dev/null. Constant memory means the
 *   peak does not grow with the size: recorded per size, with the slope
 *   (MB of peak per GB of input) between the smallest and the largest.
 * - SYN flood: 10^7 new connections (smoke: 10^4) at 100k per simulated
 *   second, uncapped (the table holds one SYN_RECV timeout of entries,
 *   ~6M), with `--max-conns 10^6`, and with `--max-conns 10^6` plus
 *   drop_entry=1. Recorded: peak RSS, the connection table's storage, and
 *   the peak minus the table (what the 300 MB bound is about).
 *
 * Baseline, measured in the same run: a bare Node process copying the same
 * capture in 1 MiB chunks to /dev/null (the floor of any Node program doing
 * that I/O); ratios are replay peak / baseline peak (lower is better).
 * Every replay's --json summary is checked (frames read, fates sum).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchSuite } from '../lib.js';
import { writeSteadyTraffic, writeSynFlood } from '../../test/robustness/traffic.js';
import { DR_SETUP } from '../../test/robustness/setups.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/test/robustness/cli-entry.js (this file is dist/bench/suites/memory.js). */
const ENTRY = path.resolve(here, '../../test/robustness/cli-entry.js');
const MB = 1024 * 1024;

interface Run {
  peakMb: number;
  summary: {
    framesIn: number;
    fates: Record<string, number>;
    connections: {
      peak: number;
      live: number;
      tableBytes: number;
      refusedTableFull: number;
      droppedByDefense: { total: number };
    };
  };
}

function replay(setup: string, input: string, extra: string[] = []): Run {
  const r = spawnSync(
    process.execPath,
    [ENTRY, 'replay', '--setup', setup, input, '-o', '/dev/null', '--json', '--no-progress', ...extra],
    { env: { ...process.env, IPVS_SIM_REPORT_RSS: '1' }, encoding: 'utf8', maxBuffer: 64 * MB },
  );
  if (r.status !== 0) throw new Error(`replay failed (${r.status}): ${r.stderr}`);
  const m = /peak-rss-kb (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no peak RSS reported: ${r.stderr}`);
  const summary = JSON.parse(r.stdout) as Run['summary'];
  const f = summary.fates;
  const sum = f.forwarded + f.answered + f.local + f.dropped + f.held;
  if (sum !== summary.framesIn || summary.framesIn === 0)
    throw new Error(`bad summary: fates ${JSON.stringify(f)}, ${summary.framesIn} frames`);
  return { peakMb: Number(m[1]) / 1024, summary };
}

/** Peak RSS of a bare Node process copying `input` to /dev/null in 1 MiB chunks. */
function bareCopy(input: string): number {
  const code = `
    const fs = require('fs');
    const b = Buffer.allocUnsafe(1 << 20);
    const i = fs.openSync(process.argv[1], 'r'), o = fs.openSync('/dev/null', 'w');
    let n, total = 0;
    while ((n = fs.readSync(i, b, 0, b.length, null)) > 0) { fs.writeSync(o, b, 0, n); total += n; }
    const m = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    process.stdout.write(String(m ? m[1] : Math.round(process.memoryUsage().rss / 1024)) + ' ' + total);
  `;
  const r = spawnSync(process.execPath, ['-e', code, input], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bare copy failed: ${r.stderr}`);
  const [kb, total] = r.stdout.split(' ').map(Number);
  if (!(total > 0)) throw new Error('bare copy read nothing');
  return kb / 1024;
}

async function run(ctx: BenchContext): Promise<void> {
  const setup = path.join(ctx.tmpDir, 'dr.setup');
  writeFileSync(setup, DR_SETUP);

  // ---- huge captures
  const sizes = ctx.smoke ? [2e6, 8e6] : [256e6, 1e9, 4e9];
  const peaks: number[] = [];
  for (const bytes of sizes) {
    const file = path.join(ctx.tmpDir, `steady-${bytes}.pcap`);
    const frames = writeSteadyTraffic(file, { bytes, flows: 2000, perSecond: 100_000 });
    const base = bareCopy(file);
    const r = replay(setup, file);
    if (r.summary.framesIn !== frames) throw new Error(`read ${r.summary.framesIn} of ${frames} frames`);
    peaks.push(r.peakMb);
    const gb = (bytes / 1e9).toFixed(bytes < 1e9 ? 3 : 0);
    ctx.record({
      name: `replay ${gb} GB capture (${frames} frames, 2000 flows): peak RSS`,
      unit: 'MB',
      median: r.peakMb,
      baseline: 'bare 1 MiB copy loop, peak RSS',
      ratio: r.peakMb / base,
      ratioNote: 'peak RSS / baseline peak RSS (lower is better)',
      target: '< 300 MB + connection table',
      met: r.peakMb - r.summary.connections.tableBytes / MB < 300,
      notes: `baseline ${base.toFixed(1)} MB; connection table ${(r.summary.connections.tableBytes / MB).toFixed(1)} MB`,
    });
    rmSync(file);
  }
  const slope = (peaks[peaks.length - 1] - peaks[0]) / ((sizes[sizes.length - 1] - sizes[0]) / 1e9);
  ctx.record({
    name: `peak RSS growth from ${sizes[0] / 1e9} GB to ${sizes[sizes.length - 1] / 1e9} GB of input`,
    unit: 'MB per GB',
    median: slope,
    target: 'constant memory (about 0)',
    notes: `peaks ${peaks.map((p) => p.toFixed(1)).join(' / ')} MB`,
  });

  // ---- SYN flood
  const n = ctx.smoke ? 10_000 : 10_000_000;
  const cap = ctx.smoke ? 1000 : 1_000_000;
  const flood = path.join(ctx.tmpDir, 'flood.pcap');
  writeSynFlood(flood, { frames: n, perSecond: 100_000 });
  const base = bareCopy(flood);
  const variants: { name: string; args: string[]; setupText: string }[] = [
    { name: 'uncapped', args: [], setupText: DR_SETUP },
    { name: `--max-conns ${cap}`, args: ['--max-conns', String(cap)], setupText: DR_SETUP },
    {
      name: `--max-conns ${cap}, drop_entry=1`,
      args: ['--max-conns', String(cap)],
      setupText: `${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=1\n`,
    },
  ];
  for (const v of variants) {
    const s = path.join(ctx.tmpDir, 'flood.setup');
    writeFileSync(s, v.setupText);
    const r = replay(s, flood, v.args);
    const c = r.summary.connections;
    if (r.summary.framesIn !== n) throw new Error(`flood: read ${r.summary.framesIn} of ${n}`);
    if (v.args.length && c.peak > cap) throw new Error(`flood: ${c.peak} entries over the cap ${cap}`);
    const tableMb = c.tableBytes / MB;
    ctx.record({
      name: `SYN flood ${n} connections, ${v.name}: peak RSS`,
      unit: 'MB',
      median: r.peakMb,
      baseline: 'bare 1 MiB copy loop, peak RSS',
      ratio: r.peakMb / base,
      ratioNote: 'peak RSS / baseline peak RSS (lower is better)',
      target: '< 300 MB + connection table',
      met: r.peakMb - tableMb < 300,
      notes:
        `table ${tableMb.toFixed(1)} MB, ${c.peak} entries at most, ${c.live} at the end; ` +
        `RSS minus table ${(r.peakMb - tableMb).toFixed(1)} MB; refused (table full) ${c.refusedTableFull}; ` +
        `deleted by drop_entry ${c.droppedByDefense.total}`,
    });
  }
  rmSync(flood);
}

export const suite: BenchSuite = {
  name: 'memory',
  description:
    'peak RSS of whole replays: captures up to 4 GB, a 10^7-connection SYN flood (capped, defended)',
  run,
};
