/**
 * Multi-core benchmark (issue 5, `replay --workers N`): the same file-to-file
 * replay in one thread and sharded over 2 worker threads by client address
 * (src/replay/workers.ts), on the datapath suite's generated 1M-frame
 * captures (NAT: both directions; DR), timed in alternation. Each contender
 * checks its summary (frames read, forwarded, written). The speed-up is the
 * single thread's wall time over the sharded run's, both measured in this
 * run; the sharded run includes its merge of the workers' outputs. `--smoke`:
 * ~2k frames.
 */
import { existsSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShardedReplay } from '../../src/replay/workers.js';
import { benchSetup, makeCapture, replayFile, type Method } from './datapath.js';
import { alternate, type BenchContext, type BenchSuite, type WallStats } from '../lib.js';
import type { ReplaySummary } from '../../src/replay/engine.js';

async function replaySharded(method: Method, input: string, output: string, workers: number) {
  const r = new ShardedReplay({
    setupText: benchSetup(method),
    setupFile: `${method}.setup`,
    inputs: [{ iface: null, path: input }],
    outFile: output,
    workers,
    listing: false,
  });
  r.open();
  try {
    return await r.run();
  } finally {
    r.close();
  }
}

function check(what: string, s: ReplaySummary, frames: number, output: string): void {
  if (s.framesIn !== frames) throw new Error(`workers bench: ${what} read ${s.framesIn} of ${frames} frames`);
  if (s.fates.forwarded < frames * 0.9 || s.framesOut < frames * 0.9)
    throw new Error(`workers bench: ${what} forwarded ${s.fates.forwarded} / wrote ${s.framesOut}`);
  if (!existsSync(output) || statSync(output).size === 0)
    throw new Error(`workers bench: ${what} wrote nothing`);
}

export const suite: BenchSuite = {
  name: 'workers',
  description: 'replay file to file in one thread vs sharded over 2 worker threads (--workers 2)',
  async run(ctx: BenchContext): Promise<void> {
    const frames = ctx.smoke ? 2000 : 1_000_000;
    const runs = ctx.smoke ? 1 : 5;
    const workers = 2;
    for (const method of ['nat', 'dr'] as const) {
      const input = path.join(ctx.tmpDir, `${method}.pcap`);
      const out = path.join(ctx.tmpDir, 'out.pcap');
      const made = makeCapture(method, input, frames, false);
      const drop = (): void => {
        if (existsSync(out)) unlinkSync(out);
      };
      let outFrames = [0, 0];
      const one = async (): Promise<void> => {
        drop();
        const s = await replayFile(method, input, out);
        check('one thread', s, frames, out);
        outFrames[0] = s.framesOut;
      };
      const many = async (): Promise<void> => {
        drop();
        const s = await replaySharded(method, input, out, workers);
        check(`${workers} workers`, s, frames, out);
        outFrames[1] = s.framesOut;
      };
      await one();
      await many();
      outFrames = [0, 0];
      const [a, b] = await alternate([one, many], runs);
      drop();
      unlinkSync(input);
      const fps = (s: WallStats) => ({
        median: frames / (s.medianMs / 1000),
        min: frames / (s.maxMs / 1000),
        max: frames / (s.minMs / 1000),
      });
      const name = method.toUpperCase();
      ctx.record({
        name: `${name} mixed sizes: replay file to file, one thread`,
        unit: 'frames/s',
        ...fps(a),
        samples: a.runs,
        notes: `${frames} frames, ${(made.bytes / 2 ** 20).toFixed(0)} MiB; wall median ${a.medianMs.toFixed(0)} ms (${a.minMs.toFixed(0)}-${a.maxMs.toFixed(0)}); ${outFrames[0]} frames out`,
      });
      ctx.record({
        name: `${name} mixed sizes: replay file to file, --workers ${workers}`,
        unit: 'frames/s',
        ...fps(b),
        samples: b.runs,
        baseline: 'the same replay in one thread, same file, same run',
        ratio: a.medianMs / b.medianMs,
        ratioNote: "speed-up: one thread's wall time / the sharded run's (higher is better)",
        notes:
          `wall median ${b.medianMs.toFixed(0)} ms (${b.minMs.toFixed(0)}-${b.maxMs.toFixed(0)}), merge included; ` +
          `${outFrames[1]} frames out; ${os.availableParallelism()} CPUs`,
      });
    }
  },
};
