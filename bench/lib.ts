/**
 * The benchmark suite's shared contract and measuring helpers.
 *
 * A suite is a file in bench/suites/ exporting `suite: BenchSuite`; the runner
 * (bench/run.ts) finds every such file, runs it, and collects what it
 * `record`s. Figures are medians with their spread; every comparison is a
 * ratio against a baseline measured in the same run (the machine is shared
 * and noisy), and every benchmark checks its own result so the optimiser
 * cannot delete the work.
 */
import Benchmark from 'benchmark';

export interface BenchResult {
  /** Suite name (set by the runner when omitted). */
  suite?: string;
  /** What was measured, e.g. `read pcap 100k frames`. */
  name: string;
  /** Unit of `median`: `ns/op`, `frames/s`, `MB/s`, `ms`, `bytes/entry`, … */
  unit: string;
  median: number;
  /** Smallest and largest sample (same unit as median). */
  min?: number;
  max?: number;
  /** Relative margin of error in percent (benchmark.js), when measured by it. */
  rme?: number;
  samples?: number;
  /** Name of the baseline this figure is compared with, measured in the same run. */
  baseline?: string;
  /** This figure divided by the baseline's, oriented so that > 1 means "better than the baseline" unless `ratioNote` says otherwise. */
  ratio?: number;
  ratioNote?: string;
  /** The target from the issue, in words, e.g. `>= 5x pcap-parser`. */
  target?: string;
  /** Whether the target was met on this run (absent when there is no target). */
  met?: boolean;
  /** Anything else worth keeping (sizes, counts). */
  notes?: string;
}

export interface BenchContext {
  /** Tiny sizes: CI runs everything this way so the bench code cannot rot; figures mean nothing. */
  readonly smoke: boolean;
  /** A scratch directory for files the suite writes (removed by the runner afterwards). */
  readonly tmpDir: string;
  record(result: BenchResult): void;
  log(message: string): void;
}

export interface BenchSuite {
  readonly name: string;
  readonly description: string;
  run(ctx: BenchContext): Promise<void>;
}

export interface OpStats {
  /** Median time per operation, nanoseconds. */
  medianNs: number;
  minNs: number;
  maxNs: number;
  rme: number;
  samples: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Time a synchronous operation with benchmark.js; `opsPerCall` is how many
 * operations one call of `fn` performs (so a loop over 1000 lookups reports
 * per lookup). In smoke mode it runs a handful of calls only.
 */
export function measureOps(name: string, fn: () => void, opsPerCall: number, smoke: boolean): OpStats {
  if (smoke) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 3; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / 3 / opsPerCall;
    return { medianNs: ns, minNs: ns, maxNs: ns, rme: 0, samples: 3 };
  }
  const b = new Benchmark(name, fn, { minSamples: 20, maxTime: 3 });
  b.run();
  if (b.error) throw b.error;
  const sample = b.stats.sample.map((s) => (s * 1e9) / opsPerCall);
  return {
    medianNs: median(sample),
    minNs: Math.min(...sample),
    maxNs: Math.max(...sample),
    rme: b.stats.rme,
    samples: sample.length,
  };
}

export interface WallStats {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/**
 * Time whole runs (file to file, process to process) of several contenders in
 * alternation, so that machine noise hits them alike. Returns one WallStats per
 * contender, in the order given.
 */
export async function alternate(
  contenders: readonly (() => Promise<void> | void)[],
  runs: number,
): Promise<WallStats[]> {
  const times: number[][] = contenders.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let c = 0; c < contenders.length; c++) {
      const t0 = process.hrtime.bigint();
      await contenders[c]();
      times[c].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return times.map((t) => ({
    medianMs: median(t),
    minMs: Math.min(...t),
    maxMs: Math.max(...t),
    runs: t.length,
  }));
}

export { median };
