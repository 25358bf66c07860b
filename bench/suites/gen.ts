/**
 * Traffic generator benchmark (issue 5): frames written per second by
 * `ipvs-sim gen` (src/gen/, per-flow templates patched in place, payload
 * checksums from prefix sums, two-part writes), against the same generator
 * building every frame with the wire layer's Repr objects and buildFrame
 * (the naive way), measured in the same run on the same flows — both write
 * byte-identical files, which each run checks (size and frame count, and the
 * bytes once). Target: >= 1M frames/s written (DR set-up, mixed sizes).
 * Also measured without a ratio: 60-byte frames, and a NAT set-up, where the
 * generator also runs the shadow director on every frame to learn which real
 * server answers.
 */
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Generator } from '../../src/gen/generator.js';
import { alternate, type BenchContext, type BenchSuite, type WallStats } from '../lib.js';
import { benchOptions, benchSetup, type Method } from './datapath.js';

function fail(what: string): never {
  throw new Error(`gen bench: ${what}`);
}

/** CPU milliseconds (user + system) of the runs, per contender. */
const cpu: Record<string, number[]> = {};

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function run(method: Method, file: string, frames: number, small: boolean, naive: boolean, tag = ''): number {
  if (existsSync(file)) unlinkSync(file);
  const c0 = process.cpuUsage();
  const s = new Generator({
    setupText: benchSetup(method),
    setupFile: `${method}.setup`,
    options: benchOptions(frames, small),
    output: { file },
    naive,
  }).run();
  const c = process.cpuUsage(c0);
  if (tag) (cpu[tag] ??= []).push((c.user + c.system) / 1000);
  if (s.frames !== frames) fail(`wrote ${s.frames} of ${frames} frames`);
  return statSync(file).size;
}

export const suite: BenchSuite = {
  name: 'gen',
  description:
    'ipvs-sim gen frames/s: per-flow templates vs frames built with Repr objects (same flows, same run)',
  async run(ctx: BenchContext): Promise<void> {
    const frames = ctx.smoke ? 3000 : 1_000_000;
    const runs = ctx.smoke ? 1 : 5;
    const a = path.join(ctx.tmpDir, 'tpl.pcap');
    const b = path.join(ctx.tmpDir, 'naive.pcap');
    const fps = (s: WallStats) => ({
      median: frames / (s.medianMs / 1000),
      min: frames / (s.maxMs / 1000),
      max: frames / (s.minMs / 1000),
    });
    // the two ways write the same bytes
    const size = run('dr', a, frames, false, false);
    if (run('dr', b, frames, false, true) !== size) fail('the naive generator wrote a different size');
    if (Buffer.compare(readFileSync(a), readFileSync(b)) !== 0)
      fail('the naive generator wrote different bytes');
    const check = (file: string, naive: boolean) => (): void => {
      if (run('dr', file, frames, false, naive, naive ? 'naive' : 'tpl') !== size)
        fail('output size changed');
    };
    const [tpl, naive] = await alternate([check(a, false), check(b, true)], runs);
    const n = fps(naive);
    ctx.record({
      name: `DR, mixed sizes, ${frames} frames: Repr objects + buildFrame per frame (naive)`,
      unit: 'frames/s',
      ...n,
      samples: naive.runs,
      notes: `median ${naive.medianMs.toFixed(0)} ms, CPU median ${med(cpu.naive).toFixed(0)} ms; ${(size / 2 ** 20).toFixed(0)} MiB pcap`,
    });
    const t = fps(tpl);
    ctx.record({
      name: `DR, mixed sizes, ${frames} frames: per-flow templates (ipvs-sim gen)`,
      unit: 'frames/s',
      ...t,
      samples: tpl.runs,
      baseline: 'the same flows built with Repr objects, same run',
      ratio: t.median / n.median,
      target: '>= 1M frames/s written',
      met: t.median >= 1e6,
      notes:
        `wall median ${tpl.medianMs.toFixed(0)} ms (${tpl.minMs.toFixed(0)}-${tpl.maxMs.toFixed(0)}), ` +
        `${((tpl.medianMs * 1e6) / frames).toFixed(0)} ns/frame; CPU median ${med(cpu.tpl).toFixed(0)} ms = ` +
        `${(frames / med(cpu.tpl) / 1000).toFixed(2)} M frames per CPU second (the machine is shared: wall includes waiting for a core)`,
    });
    const others: [Method, boolean, string][] = [
      ['dr', true, 'DR, 60-byte frames'],
      ['nat', false, 'NAT (both directions, shadow director on every frame), mixed sizes'],
    ];
    for (const [method, small, what] of others) {
      const [s] = await alternate([() => void run(method, a, frames, small, false, what)], runs);
      const f = fps(s);
      ctx.record({
        name: `${what}, ${frames} frames: per-flow templates`,
        unit: 'frames/s',
        ...f,
        samples: s.runs,
        notes: `wall median ${s.medianMs.toFixed(0)} ms (${s.minMs.toFixed(0)}-${s.maxMs.toFixed(0)}), CPU median ${med(cpu[what]).toFixed(0)} ms`,
      });
    }
  },
};
