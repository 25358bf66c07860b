/**
 * Fuzzing the datapath: random and mutated frames (hostile traffic, see
 * arbitraries.ts) through the DR and NAT directors of setups.ts. Whatever the
 * input: no exception escapes, every frame gets exactly one fate (the fates
 * sum to the frames received), and in DR a forwarded frame differs from its
 * input only in the MACs, the TTL / hop limit and the IPv4 header checksum
 * (IPv4 option bytes aside: the kernel rewrites them on receipt, see
 * driver.ts drRewriteProblem). A failing case is written to regressions/ (regressions.test.ts replays
 * them all).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { checkSequence, drRewriteProblem, type InFrame } from './driver.js';
import { baseFrameArb, hostileFrameArb, mutate } from './arbitraries.js';
import { DR_SETUP, NAT_SETUP, SETUPS } from './setups.js';
import { keepFrameFailure } from './regressions.js';

/** Number of cases per property (FUZZ_RUNS multiplies it for a longer local run). */
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

/** Runs a property; a failure's counterexample goes to regressions/ before the test fails. */
function assertFrames(
  name: string,
  setup: string,
  arb: fc.Arbitrary<InFrame[]>,
  check: (frames: InFrame[]) => string,
  numRuns: number,
): void {
  const out = fc.check(
    fc.property(arb, (frames) => check(frames) === ''),
    { numRuns, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
  );
  if (out.failed && out.counterexample) {
    const frames = out.counterexample[0];
    const file = keepFrameFailure(name, setup, frames);
    expect.fail(
      `${name}: ${check(frames)}\n(seed ${out.seed}, path ${out.counterexamplePath}; kept as ${file})`,
    );
  }
  if (out.failed) expect.fail(`${name}: ${out.errorInstance ?? 'failed'}`);
}

const sequenceArb = fc.array(hostileFrameArb, { minLength: 1, maxLength: 30 });

describe('robustness: fuzzing the datapath', function () {
  this.timeout(240_000);

  for (const s of SETUPS) {
    it(`${s.name}: hostile frame sequences never throw and every frame has one fate`, () => {
      assertFrames(
        `${s.name} hostile sequence`,
        s.name,
        sequenceArb,
        (f) => checkSequence(s.text, f),
        runs(150),
      );
    });
  }

  for (const s of SETUPS) {
    it(`${s.name}: a frame cut at every offset (capture and wire) is handled`, () => {
      const arb = fc.record({ base: baseFrameArb, wire: fc.boolean() });
      const check = ({
        base,
        wire,
      }: {
        base: { bytes: Uint8Array; link: number };
        wire: boolean;
      }): string => {
        const frames: InFrame[] = [];
        for (let k = 0; k <= base.bytes.length; k++) {
          // a connection first, then its cut copy: the cut frame meets an existing entry
          frames.push({ bytes: base.bytes, link: base.link });
          frames.push({
            bytes: wire ? base.bytes.slice(0, k) : base.bytes,
            capLen: k,
            origLen: wire ? k : base.bytes.length,
            link: base.link,
          });
        }
        return checkSequence(s.text, frames);
      };
      const out = fc.check(
        fc.property(arb, (x) => check(x) === ''),
        { numRuns: runs(40) },
      );
      if (out.failed && out.counterexample) {
        const { base, wire } = out.counterexample[0];
        const file = keepFrameFailure(`${s.name} cut at every offset (wire ${wire})`, s.name, [
          { bytes: base.bytes, link: base.link },
        ]);
        expect.fail(`${check(out.counterexample[0])} (kept as ${file})`);
      }
    });
  }

  it('zero-length, one-byte and maximal frames are dropped as malformed, not thrown', () => {
    for (const text of [DR_SETUP, NAT_SETUP]) {
      const frames: InFrame[] = [
        { bytes: new Uint8Array(0) },
        { bytes: new Uint8Array(1) },
        { bytes: new Uint8Array(13) },
        { bytes: new Uint8Array(14) },
        { bytes: new Uint8Array(262144).fill(0xff) },
        { bytes: new Uint8Array(262144) },
        { bytes: new Uint8Array(60), capLen: 60, origLen: 0 },
        { bytes: new Uint8Array(60), capLen: 60, origLen: 1 << 30 },
      ];
      expect(checkSequence(text, frames)).to.equal('');
    }
  });

  it('DR: a forwarded frame differs from its input only in the MACs, TTL / hop limit and IP checksum', () => {
    assertFrames('DR forwards unchanged', 'DR', sequenceArb, drRewriteProblem, runs(150));
  });

  it('mutate() applies what it says (the generator itself can fail)', () => {
    const base = new Uint8Array(60);
    base[12] = 0x08;
    base[14] = 0x45;
    const m = mutate(base, [{ kind: 'ihl', value: 3 }]);
    expect(m.bytes[14]).to.equal(0x43);
    const c = mutate(base, [{ kind: 'capture-cut', keep: 20 }]);
    expect([c.capLen, c.origLen]).to.deep.equal([20, 60]);
  });
});
