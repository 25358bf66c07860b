/**
 * Peers benchmark (issue 5): `ipvs-sim replay` against `tcprewrite` (Debian
 * package tcpreplay) doing the nearest equivalent rewrite of the same
 * generated captures (bench/suites/datapath.ts makes them: 1M frames, mixed
 * sizes and all 60-byte frames):
 *
 *   DR:  tcprewrite --enet-dmac=MAC                       (the real server's MAC)
 *   NAT: tcprewrite --dstipmap=VIP/32:RIP/32 --portmap=80:8080
 *
 * while ipvs-sim runs the whole IPVS datapath (connection table, scheduler,
 * state machine, both NAT directions). Both run as whole processes, file to
 * file, in alternation (one child process after the other, `runs` rounds);
 * wall-clock medians and the children's CPU time (bash's `time`) are
 * recorded, and ipvs-sim's frames/s as a ratio of tcprewrite's. Target:
 * >= 2.5x tcprewrite's frames/s for DR and NAT on both captures.
 *
 * tcprewrite 4.4.3 is a speed peer, not a correctness reference: it
 * corrupts Ethernet-padded frames, growing the IP total length over the
 * padding (a 60-byte ACK becomes a segment with 6 bytes of "data"), even
 * with --enet-dmac alone.
 *
 * Skipped, with a message, when tcprewrite is not installed (CI installs it:
 * .ci/run has tcpreplay).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, type BenchContext, type BenchSuite, type WallStats } from '../lib.js';
import { benchSetup, makeCapture, type Method } from './datapath.js';

/** The bin/ipvs-sim.js of this checkout (dist/bench/suites → repository root). */
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/ipvs-sim.js');

function fail(what: string): never {
  throw new Error(`peers bench: ${what}`);
}

function tcprewriteVersion(): string | null {
  const r = spawnSync('tcprewrite', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const m = /tcprewrite version: (\S+)/.exec(r.stdout + r.stderr);
  return m ? m[1] : 'unknown';
}

/** Runs argv under bash's `time`; returns the child's CPU milliseconds (user + system). */
function runTimed(argv: string[], errFile: string): number {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%U %S'; time ${quoted} >/dev/null 2>'${errFile}'`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) fail(`${argv[0]} failed (${r.status}), its stderr in ${errFile}`);
  const m = /([0-9.]+) ([0-9.]+)\s*$/.exec(r.stderr);
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const suite: BenchSuite = {
  name: 'peers',
  description:
    'ipvs-sim replay vs tcprewrite (DR: --enet-dmac; NAT: --dstipmap + --portmap), whole processes',
  async run(ctx: BenchContext): Promise<void> {
    const version = tcprewriteVersion();
    if (!version) {
      ctx.log('SKIPPED: tcprewrite is not installed (Debian package tcpreplay: apt-get install tcpreplay)');
      return;
    }
    if (!existsSync(BIN)) fail(`${BIN} not found`);
    ctx.log(
      `tcprewrite ${version}: a speed peer only — it corrupts Ethernet-padded frames (grows the IP length over the padding)`,
    );
    const frames = ctx.smoke ? 2000 : 1_000_000;
    const runs = ctx.smoke ? 1 : 5;
    for (const method of ['dr', 'nat'] as const satisfies readonly Method[]) {
      const setup = path.join(ctx.tmpDir, `${method}.setup`);
      writeFileSync(setup, benchSetup(method));
      for (const small of [false, true]) {
        const kind = small ? '60-byte frames' : 'mixed sizes';
        const input = path.join(ctx.tmpDir, `${method}-${small ? 'small' : 'mixed'}.pcap`);
        const outOurs = path.join(ctx.tmpDir, 'ours.pcap');
        const outPeer = path.join(ctx.tmpDir, 'peer.pcap');
        const made = makeCapture(method, input, frames, small);
        const peerArgs =
          method === 'dr'
            ? ['tcprewrite', '--enet-dmac=02:00:00:00:0d:02', '-i', input, '-o', outPeer]
            : [
                'tcprewrite',
                '--dstipmap=172.16.1.100/32:10.1.0.2/32',
                '--portmap=80:8080',
                '-i',
                input,
                '-o',
                outPeer,
              ];
        const oursArgs = ['node', BIN, 'replay', '--setup', setup, '-o', outOurs, '--no-progress', input];
        const errFile = path.join(ctx.tmpDir, 'stderr.txt');
        const cpu: { ours: number[]; peer: number[] } = { ours: [], peer: [] };
        const peer = (): void => {
          if (existsSync(outPeer)) unlinkSync(outPeer);
          cpu.peer.push(runTimed(peerArgs, errFile));
          if (statSync(outPeer).size < made.bytes) fail('tcprewrite wrote less than it read');
        };
        const ours = (): void => {
          if (existsSync(outOurs)) unlinkSync(outOurs);
          cpu.ours.push(runTimed(oursArgs, errFile));
          if (statSync(outOurs).size < made.bytes * 0.5) fail('ipvs-sim wrote too little');
        };
        if (!ctx.smoke) {
          // warm the page cache (and check both run)
          peer();
          ours();
          cpu.ours.length = 0;
          cpu.peer.length = 0;
        }
        const [p, o] = await alternate([peer, ours], runs);
        for (const f of [input, outOurs, outPeer]) if (existsSync(f)) unlinkSync(f);
        const fps = (s: WallStats) => ({
          median: frames / (s.medianMs / 1000),
          min: frames / (s.maxMs / 1000),
          max: frames / (s.minMs / 1000),
        });
        const pf = fps(p);
        ctx.record({
          name: `${method.toUpperCase()} ${kind}: tcprewrite ${version} (${peerArgs[1]}${peerArgs[2].startsWith('--') ? ' ' + peerArgs[2] : ''})`,
          unit: 'frames/s',
          ...pf,
          samples: p.runs,
          notes: `${frames} frames, ${(made.bytes / 2 ** 20).toFixed(0)} MiB; wall median ${p.medianMs.toFixed(0)} ms, CPU median ${med(cpu.peer).toFixed(0)} ms`,
        });
        const of = fps(o);
        ctx.record({
          name: `${method.toUpperCase()} ${kind}: ipvs-sim replay (whole IPVS datapath)`,
          unit: 'frames/s',
          ...of,
          samples: o.runs,
          baseline: `tcprewrite ${version}, same capture, same run`,
          ratio: of.median / pf.median,
          target: '>= 2.5x tcprewrite frames/s',
          met: of.median / pf.median >= 2.5,
          notes:
            `wall median ${o.medianMs.toFixed(0)} ms, CPU median ${med(cpu.ours).toFixed(0)} ms ` +
            `(CPU ratio ${(med(cpu.peer) / med(cpu.ours)).toFixed(2)}x); whole processes, node start-up included`,
        });
      }
    }
  },
};
