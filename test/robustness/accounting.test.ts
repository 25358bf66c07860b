/**
 * "Every frame accounted for": the replay summary's fates (forwarded,
 * answered, delivered locally, dropped per reason) sum to the frames read —
 * on every capture of the repository (fixtures/**, test/**: the oracle
 * scenarios with their own set-ups, every other capture through the DR and
 * NAT set-ups), and on random capture files, well formed or with mutated
 * headers and record lengths: no exception escapes the reader or the
 * datapath, a malformed file stops at the frame that is broken after every
 * frame before it, and reading ends after at most one frame per 16 bytes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Replay, type ReplayInputSpec, type ReplaySummary } from '../../src/replay/engine.js';
import { NullSink } from '../../src/ipvs/env.js';
import { CaptureFormatError } from '../../src/capture/errors.js';
import { createPcapngWriter, createPcapWriter } from '../../src/capture/writer.js';
import { Fate, Reason, REASON_COUNT } from '../../src/ipvs/verdict.js';
import { ROOT } from './cli-run.js';
import { DR_SETUP, SETUPS } from './setups.js';
import { hostileFrameArb, type Mutation } from './arbitraries.js';
import type { InFrame } from './driver.js';
import { keepCaptureFailure } from './regressions.js';

/** Replays inputs through a set-up; returns the summary, or a string saying what went wrong. */
async function replay(setupText: string, inputs: ReplayInputSpec[]): Promise<ReplaySummary | string> {
  const r = new Replay({ setupText, setupFile: 'setup', inputs, sink: new NullSink() });
  try {
    try {
      r.open();
    } catch (e) {
      if (e instanceof CaptureFormatError) return 'header';
      return `open threw ${(e as Error).stack}`;
    }
    try {
      return await r.run();
    } catch (e) {
      return `run threw ${(e as Error).stack}`;
    }
  } finally {
    r.close();
  }
}

/** '' when the summary accounts for every frame read, else the problem. */
function unaccounted(s: ReplaySummary): string {
  const f = s.fates;
  const sum = f.forwarded + f.answered + f.local + f.dropped + f.held;
  if (sum !== s.framesIn) return `fates sum to ${sum}, ${s.framesIn} frames read`;
  if (f.held !== 0) return `${f.held} frames left held`;
  for (const [fate, per] of Object.entries(s.reasons)) {
    const n = Object.values(per).reduce((a, b) => a + b, 0);
    if (n !== (f as unknown as Record<string, number>)[fate]) return `${fate}: reasons sum to ${n}`;
  }
  return '';
}

function allCaptures(dir: string, skip: (p: string) => boolean, out: string[] = []): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = path.join(dir, n);
    if (skip(p)) continue;
    if (statSync(p).isDirectory()) allCaptures(p, skip, out);
    else if (/\.pcap(ng)?$/.test(n)) out.push(p);
  }
  return out;
}

const ORACLE_SETS = ['test/oracle/scenarios', 'test/oracle/extra'].map((d) => path.join(ROOT, d));

describe('robustness: every frame accounted for', function () {
  this.timeout(300_000);

  it('every oracle scenario, replayed with its own set-up and inputs', async () => {
    let n = 0;
    for (const set of ORACLE_SETS) {
      if (!existsSync(set)) continue;
      for (const name of readdirSync(set).sort()) {
        const dir = path.join(set, name);
        if (!existsSync(path.join(dir, 'setup'))) continue;
        const inputs = readdirSync(dir)
          .filter((f) => f.endsWith('.pcap'))
          .sort()
          .map((f) => ({ iface: f.slice(0, -5), path: path.join(dir, f) }));
        const s = await replay(readFileSync(path.join(dir, 'setup'), 'utf8'), inputs);
        expect(typeof s === 'string' ? s : unaccounted(s), name).to.equal('');
        n++;
      }
    }
    expect(n).to.be.greaterThan(50);
  });

  it('every other capture of the repository (fixtures/**, test/**), through the DR and NAT set-ups', async () => {
    const files = [
      ...allCaptures(path.join(ROOT, 'fixtures'), () => false),
      ...allCaptures(
        path.join(ROOT, 'test'),
        (p) => p.endsWith('robustness/corpus') || p.endsWith('robustness/regressions'),
      ),
    ];
    expect(files.length).to.be.greaterThan(100);
    let stopped = 0;
    for (const s of SETUPS)
      for (const file of files) {
        const r = await replay(s.text, [{ path: file, iface: null }]);
        if (r === 'header') continue;
        expect(typeof r === 'string' ? r : unaccounted(r), `${s.name} ${file}`).to.equal('');
        if (typeof r !== 'string' && r.captureError) {
          stopped++;
          expect(r.captureError.frameNo, file).to.equal(r.framesIn);
        }
      }
    // fixtures/capture/malformed: files that stop in the middle
    expect(stopped).to.be.greaterThan(5);
  });

  it('held fragments left at the end are resolved as dropped fragment-incomplete', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-held-'));
    try {
      const file = path.join(dir, 'in.pcap');
      const w = createPcapWriter(file);
      const f = new Uint8Array(60);
      f.set([2, 0, 0, 0, 1, 1], 0);
      for (let i = 0; i < 3; i++) w.write(0, f, 0, 60, 60, 1, i);
      w.close();
      // a stack that holds every frame as a fragment and never completes it
      const r = new Replay({
        setupText: DR_SETUP,
        setupFile: 'setup',
        inputs: [{ path: file, iface: null }],
        sink: new NullSink(),
        onFrame: (_n, d) => {
          const st = d.env.fates;
          st.fates[d.env.fate]--;
          st.byReason[d.env.fate * REASON_COUNT + d.env.reason]--;
          st.count(Fate.HELD, Reason.NONE);
        },
      });
      r.open();
      const s = await r.run();
      r.close();
      expect(s.fates.held).to.equal(0);
      expect(s.fates.dropped).to.equal(3);
      expect(s.reasons.dropped).to.deep.equal({ 'fragment-incomplete': 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('random capture files', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-randcap-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** Offsets of the structure of a capture: file header, block / record headers. */
    function structure(bytes: Uint8Array, ng: boolean): number[] {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const offs: number[] = [];
      if (!ng) {
        for (let o = 0; o < 24; o += 4) offs.push(o);
        for (let p = 24; p + 16 <= bytes.length; p += 16 + dv.getUint32(p + 8, true))
          for (let k = 0; k < 16; k += 4) offs.push(p + k);
      } else {
        for (let p = 0; p + 12 <= bytes.length;) {
          const len = dv.getUint32(p + 4, true);
          for (let k = 0; k < Math.min(len, 32); k += 4) offs.push(p + k);
          offs.push(p + len - 4);
          if (len < 12) break;
          p += len;
        }
      }
      return offs;
    }

    const word = fc.oneof(
      fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 12, 16, 28, 32, 65535, 65536, 262144, 262145),
      fc.nat(),
    );
    const fileMutation = fc.oneof(
      fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: word, le: fc.boolean() }),
      fc.record({
        kind: fc.constant('byte' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), tail: fc.uint8Array({ maxLength: 64 }) }),
    );

    interface Case {
      ng: boolean;
      frames: (InFrame & { mutations: Mutation[] })[];
      mutations: (
        | { kind: 'word'; at: number; value: number; le: boolean }
        | { kind: 'byte'; at: number; value: number }
        | { kind: 'truncate'; at: number }
        | { kind: 'append'; tail: Uint8Array }
      )[];
      setup: string;
    }
    const caseArb: fc.Arbitrary<Case> = fc.record({
      ng: fc.boolean(),
      frames: fc.array(hostileFrameArb, { maxLength: 40 }),
      mutations: fc.array(fileMutation, { maxLength: 4 }),
      setup: fc.constantFrom(...SETUPS.map((s) => s.text)),
    });

    it('reader and datapath: no exception, every frame has a fate, malformed files stop where they break', async () => {
      let k = 0;
      const check = async (c: Case): Promise<string> => {
        const file = path.join(dir, `c${k++}.${c.ng ? 'pcapng' : 'pcap'}`);
        const w = c.ng ? createPcapngWriter(file, ['client', 'server']) : createPcapWriter(file);
        c.frames.forEach((f, i) =>
          w.write(
            c.ng ? (f.link ?? 0) : 0,
            f.bytes,
            0,
            f.capLen ?? f.bytes.length,
            Math.max(f.origLen ?? 0, f.capLen ?? f.bytes.length),
            1700000000,
            i * 1000,
          ),
        );
        w.close();
        let bytes: Uint8Array = readFileSync(file);
        const offs = structure(bytes, c.ng);
        for (const m of c.mutations) {
          if (m.kind === 'append') {
            const b = new Uint8Array(bytes.length + m.tail.length);
            b.set(bytes);
            b.set(m.tail, bytes.length);
            bytes = b;
            continue;
          }
          if (bytes.length === 0) continue;
          if (m.kind === 'truncate') {
            bytes = bytes.slice(0, m.at % (bytes.length + 1));
            continue;
          }
          // mostly on the structure, sometimes anywhere
          const at = m.at % 4 !== 0 && offs.length ? offs[(m.at >>> 2) % offs.length] : m.at % bytes.length;
          if (m.kind === 'byte') bytes[at % bytes.length] = m.value;
          else if (at + 4 <= bytes.length)
            new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, m.value >>> 0, m.le);
        }
        writeFileSync(file, bytes);
        const r = await replay(c.setup, [{ path: file, iface: null }]);
        if (r === 'header') return '';
        if (typeof r === 'string') return r;
        const p = unaccounted(r);
        if (p) return p;
        if (r.framesIn > bytes.length / 16 + 1) return `${r.framesIn} frames from ${bytes.length} bytes`;
        if (r.captureError && r.captureError.frameNo !== r.framesIn)
          return `stopped at frame ${r.captureError.frameNo + 1} after ${r.framesIn}`;
        if (c.mutations.length === 0 && (r.captureError || r.framesIn !== c.frames.length))
          return `an unmutated file read ${r.framesIn} of ${c.frames.length} frames (${r.captureError?.message})`;
        return '';
      };
      const out = await fc.check(
        fc.asyncProperty(caseArb, async (c) => (await check(c)) === ''),
        { numRuns: Math.round(200 * Number(process.env.FUZZ_RUNS ?? 1)) },
      );
      if (out.failed && out.counterexample) {
        const c = out.counterexample[0];
        const problem = await check(c);
        const file = path.join(dir, `c${k - 1}.${c.ng ? 'pcapng' : 'pcap'}`);
        const kept = keepCaptureFailure(readFileSync(file), c.ng ? 'pcapng' : 'pcap');
        expect.fail(`${problem} (kept as ${kept})`);
      }
      if (out.failed) expect.fail(String(out.errorInstance));
    });
  });
});
