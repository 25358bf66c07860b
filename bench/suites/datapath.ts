/**
 * Datapath benchmark (issue 3, Performance): the whole replay, file to file
 * (`Replay` from src/replay/engine.ts reading a pcap and writing a pcap), on
 * generated 1M-frame captures — mixed sizes, and all 60-byte frames — in DR,
 * NAT and TUN, against the bare 1 MiB-chunk read/rewrite/write loop measured
 * in the same run on the same file: read 1 MiB, walk its records, rewrite
 * each frame's destination MAC in place, write the chunk — the least any
 * tool must do to rewrite a capture. Contenders alternate (bench/lib.ts
 * `alternate`); each checks its output (frame counts, bytes) so nothing is
 * optimised away. Wall-clock medians with their spread are recorded, and
 * the CPU time of the same runs (the machine is shared: under load the wall
 * clock includes time spent waiting for a core). After the timed runs, one
 * more replay runs under V8's sampling heap profiler: the JS heap it
 * allocates per frame (the hot path is meant to allocate nothing per packet).
 *
 * Captures come from the traffic generator (src/gen/) on the set-ups below:
 * clients behind a router on eth0, four real servers on eth1; NAT captures
 * hold the real servers' replies too. For TUN, eth1 has a 9000-byte MTU (a
 * full-size client frame plus the 20-byte IPIP header must fit, else the
 * director answers "fragmentation needed", as the kernel does). `--smoke`:
 * ~2k frames.
 *
 * Targets (issue 3): wall time <= 1.25x the bare loop in DR on mixed frames,
 * <= 1.5x on 60-byte frames; NAT <= 1.4x / 1.8x; TUN <= 1.8x / 2.5x.
 */
import { closeSync, existsSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { Generator } from '../../src/gen/generator.js';
import { DEFAULT_GEN_OPTIONS, type GenOptions } from '../../src/gen/options.js';
import { Replay } from '../../src/replay/engine.js';
import { alternate, type BenchContext, type BenchSuite, type WallStats } from '../lib.js';

export type Method = 'dr' | 'nat' | 'tun';

/** The director of the benchmarks: clients behind 172.16.1.254 on eth0, real servers on eth1. */
export function benchSetup(method: Method): string {
  const flag = method === 'dr' ? '-g' : method === 'nat' ? '-m' : '-i';
  const rport = method === 'nat' ? 8080 : 80;
  const lines = [
    `# ${method.toUpperCase()} benchmark director (bench/suites/datapath.ts)`,
    'ip link set eth0 address 02:00:00:00:01:01',
    'ip addr add 172.16.1.1/24 dev eth0',
    'ip addr add 172.16.1.100/32 dev eth0',
    `ip link set eth1 address 02:00:00:00:02:01${method === 'tun' ? ' mtu 9000' : ''}`,
    'ip addr add 10.1.0.1/24 dev eth1',
    'ip neigh add 172.16.1.254 lladdr 02:00:00:00:0e:01 dev eth0',
    'ip route add default via 172.16.1.254 dev eth0',
  ];
  for (let i = 2; i <= 5; i++) lines.push(`ip neigh add 10.1.0.${i} lladdr 02:00:00:00:0d:0${i} dev eth1`);
  if (method === 'nat') lines.push('sysctl -w net.ipv4.ip_forward=1');
  lines.push('ipvsadm -A -t 172.16.1.100:80 -s wlc');
  for (let i = 2; i <= 5; i++)
    lines.push(`ipvsadm -a -t 172.16.1.100:80 -r 10.1.0.${i}:${rport} ${flag} -w ${i - 1}`);
  return lines.join('\n') + '\n';
}

/** Generator options of the benchmark captures: `frames` frames, mixed sizes or all 60 bytes. */
export function benchOptions(frames: number, small: boolean): GenOptions {
  return {
    ...DEFAULT_GEN_OPTIONS,
    seed: 2024,
    // enough flows that the cap, not the flows, ends the capture
    flows: Math.max(50, Math.ceil(frames / (small ? 6 : 15))),
    duration: Math.max(1, frames / 20000),
    maxFrames: frames,
    clients: 10000,
    clientDist: 'zipf',
    zipfS: 1.0,
    requests: { min: 1, max: 4 },
    // uploads too, so that client→VIP frames (all a DR director sees) come in every size
    requestSize: { min: 80, max: 12000 },
    responseSize: { min: 200, max: 60000 },
    small,
  };
}

/** Generates a capture for `method` into `file`; returns its frame count and size. */
export function makeCapture(
  method: Method,
  file: string,
  frames: number,
  small: boolean,
): { frames: number; bytes: number } {
  const s = new Generator({
    setupText: benchSetup(method),
    setupFile: `${method}.setup`,
    options: benchOptions(frames, small),
    output: { file },
  }).run();
  return { frames: s.frames, bytes: statSync(file).size };
}

function fail(what: string): never {
  throw new Error(`datapath bench: ${what}`);
}

function removeIfThere(p: string): void {
  // a fresh file each run (truncating a just-written file makes ext4 force its data out)
  if (existsSync(p)) unlinkSync(p);
}

const CHUNK = 1024 * 1024;

/**
 * Bytes of JS heap `fn` allocates, estimated by V8's sampling heap profiler
 * (one sample per 4 KiB on average), counting objects already collected.
 */
export async function heapBytesAllocated(fn: () => Promise<unknown>): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await fn();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    let total = 0;
    const walk = (n: { selfSize: number; children: (typeof n)[] }): void => {
      total += n.selfSize;
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    return total;
  } finally {
    session.disconnect();
  }
}

/**
 * The bare loop: 1 MiB reads, walk the pcap records, set each frame's
 * destination MAC, write what was read. Returns the number of frames.
 */
export function bareRewrite(input: string, output: string, mac: Uint8Array): number {
  const buf = Buffer.allocUnsafe(CHUNK + 65536);
  const fi = openSync(input, 'r');
  const fo = openSync(output, 'w');
  let frames = 0;
  let have = 0; // bytes in buf
  let pos = 24; // next record offset in buf (after the file header)
  let first = true;
  for (;;) {
    const n = readSync(fi, buf, have, CHUNK, null);
    if (n === 0) break;
    have += n;
    if (first && have < 24) fail('short pcap header');
    first = false;
    // walk the complete records
    while (pos + 16 <= have) {
      const cap = buf.readUInt32LE(pos + 8);
      if (pos + 16 + cap > have) break;
      const f = pos + 16;
      for (let i = 0; i < 6; i++) buf[f + i] = mac[i];
      frames++;
      pos = f + cap;
    }
    // write the walked part, keep the partial record
    let done = 0;
    while (done < pos) done += writeSync(fo, buf, done, pos - done);
    buf.copy(buf, 0, pos, have);
    have -= pos;
    pos = 0;
  }
  if (have !== 0) fail('trailing bytes in the capture');
  closeSync(fi);
  closeSync(fo);
  return frames;
}

/** A replay of `input` through the director of `method`, file to file; returns the summary. */
export async function replayFile(method: Method, input: string, output: string) {
  const r = new Replay({
    setupText: benchSetup(method),
    setupFile: `${method}.setup`,
    inputs: [{ iface: null, path: input }],
    outFile: output,
  });
  r.open();
  try {
    return await r.run();
  } finally {
    r.close();
  }
}

interface Timed {
  fn: () => Promise<void> | void;
  cpuMs: number[];
}

function timed(fn: () => Promise<void> | void): Timed {
  const t: Timed = {
    cpuMs: [],
    fn: async () => {
      const c0 = process.cpuUsage();
      await fn();
      const c = process.cpuUsage(c0);
      t.cpuMs.push((c.user + c.system) / 1000);
    },
  };
  return t;
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const TARGETS: Record<Method, [number, number]> = { dr: [1.25, 1.5], nat: [1.4, 1.8], tun: [1.8, 2.5] };

export const suite: BenchSuite = {
  name: 'datapath',
  description:
    'replay file to file (DR/NAT/TUN, mixed and 60-byte frames) vs the bare 1 MiB read/rewrite/write loop',
  async run(ctx: BenchContext): Promise<void> {
    const frames = ctx.smoke ? 2000 : 1_000_000;
    const runs = ctx.smoke ? 1 : 5;
    const mac = Uint8Array.of(2, 0, 0, 0, 0x0d, 2);
    for (const method of ['dr', 'nat', 'tun'] as const) {
      for (const small of [false, true]) {
        const kind = small ? '60-byte frames' : 'mixed sizes';
        const input = path.join(ctx.tmpDir, `${method}-${small ? 'small' : 'mixed'}.pcap`);
        const out = path.join(ctx.tmpDir, 'out.pcap');
        const made = makeCapture(method, input, frames, small);
        if (made.frames !== frames) fail(`generated ${made.frames} frames, wanted ${frames}`);
        const mib = made.bytes / 2 ** 20;
        let forwarded = 0;
        const bare = timed(() => {
          removeIfThere(out);
          const n = bareRewrite(input, out, mac);
          if (n !== frames || statSync(out).size !== made.bytes)
            fail(`bare loop: ${n} frames, ${statSync(out).size} bytes`);
        });
        const ours = timed(async () => {
          removeIfThere(out);
          const s = await replayFile(method, input, out);
          if (s.framesIn !== frames) fail(`replay read ${s.framesIn} of ${frames} frames`);
          // flows under way at the start are not the director's (their frames go to the local stack)
          if (s.fates.forwarded < frames * 0.9 || s.framesOut < frames * 0.9)
            fail(`replay forwarded ${s.fates.forwarded} / wrote ${s.framesOut} of ${frames} frames`);
          if (statSync(out).size < made.bytes * 0.5) fail('replay output too small');
          forwarded = s.fates.forwarded;
        });
        // warm up (JIT, page cache)
        await bare.fn();
        await ours.fn();
        bare.cpuMs.length = 0;
        ours.cpuMs.length = 0;
        const [b, o] = await alternate([bare.fn, ours.fn], runs);
        const allocated = await heapBytesAllocated(() => replayFile(method, input, out));
        removeIfThere(out);
        unlinkSync(input);
        const fps = (s: WallStats) => ({
          median: frames / (s.medianMs / 1000),
          min: frames / (s.maxMs / 1000),
          max: frames / (s.minMs / 1000),
        });
        ctx.record({
          name: `${method.toUpperCase()} ${kind}: bare 1 MiB read/rewrite/write loop`,
          unit: 'frames/s',
          ...fps(b),
          samples: b.runs,
          notes: `${frames} frames, ${mib.toFixed(0)} MiB; wall median ${b.medianMs.toFixed(0)} ms (${b.minMs.toFixed(0)}-${b.maxMs.toFixed(0)}), CPU median ${med(bare.cpuMs).toFixed(0)} ms`,
        });
        const ratio = o.medianMs / b.medianMs;
        const target = TARGETS[method][small ? 1 : 0];
        ctx.record({
          name: `${method.toUpperCase()} ${kind}: replay file to file`,
          unit: 'frames/s',
          ...fps(o),
          samples: o.runs,
          baseline: 'bare 1 MiB read/rewrite/write loop, same file, same run',
          ratio,
          ratioNote: "wall time / the bare loop's: lower is better",
          target: `wall time <= ${target}x the bare loop`,
          met: ratio <= target,
          notes:
            `wall median ${o.medianMs.toFixed(0)} ms (${o.minMs.toFixed(0)}-${o.maxMs.toFixed(0)}), ` +
            `CPU median ${med(ours.cpuMs).toFixed(0)} ms (CPU ratio ${(med(ours.cpuMs) / med(bare.cpuMs)).toFixed(2)}x); ` +
            `${forwarded} frames forwarded; ${((o.medianMs * 1e6) / frames).toFixed(0)} ns/frame`,
        });
        ctx.record({
          name: `${method.toUpperCase()} ${kind}: heap allocated per frame (whole replay)`,
          unit: 'bytes/frame',
          median: allocated / frames,
          samples: 1,
          notes:
            'V8 sampling heap profiler (every 4 KiB allocated, collected objects included) over one warm replay, ' +
            'set-up, table growth and summary included; one boxed number per frame would add 16',
        });
      }
    }
  },
};
