import { expect } from 'chai';
import fc from 'fast-check';
import { Fenwick } from '../../../src/ipvs/sched/dest_index.js';

/** The slot a weighted draw selects, by a linear scan: the first whose running sum reaches t. */
function scan(vals: readonly number[], t: number): number {
  let sum = 0;
  for (let s = 0; s < vals.length; s++) {
    sum += vals[s];
    if (sum >= t) return s;
  }
  return -1;
}

describe('sched/dest_index Fenwick', () => {
  // small weights keep the total below 2^31 (the int32 descent), large ones push it beyond (the general one)
  const weight = fc.oneof(fc.nat(12), fc.nat(0x7fffffff));
  const setup = fc
    .record({
      pow2: fc.boolean(),
      bits: fc.integer({ min: 0, max: 9 }),
      extra: fc.integer({ min: 1, max: 511 }),
    })
    .map(({ pow2, bits, extra }) => (pow2 ? 1 << bits : (1 << bits) + (extra % (1 << bits) || 1)))
    .chain((cap) =>
      fc.record({
        cap: fc.constant(cap),
        vals: fc.array(weight, { minLength: cap, maxLength: cap }),
        edits: fc.array(fc.tuple(fc.nat(cap - 1), weight), { maxLength: 8 }),
        draws: fc.array(
          fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
      }),
    );

  it('lowerBound2 selects the slots of a linear scan for both targets, for any cap and total', () => {
    fc.assert(
      fc.property(setup, ({ cap, vals, edits, draws }) => {
        const f = new Fenwick();
        f.rebuild(cap, Float64Array.from(vals));
        const cur = [...vals];
        for (const [s, w] of edits) {
          f.set(s, w);
          cur[s] = w;
        }
        const total = cur.reduce((a, b) => a + b, 0);
        if (total === 0) return f.total === 0;
        return draws.every(([a, b]) => {
          // targets 1..total, including both ends
          const t1 = Math.min(total, 1 + Math.floor(a * total));
          const t2 = Math.min(total, 1 + Math.floor(b * total));
          const s1 = f.lowerBound2(t1, t2);
          return (
            s1 === scan(cur, t1) &&
            f.second === scan(cur, t2) &&
            f.lowerBound(t1) === s1 &&
            f.lowerBound2(total, 1) === scan(cur, total) &&
            f.second === scan(cur, 1)
          );
        });
      }),
      { numRuns: 400 },
    );
  });

  it('the int32 and general descents agree at the 2^31 boundary of the total', () => {
    const f = new Fenwick();
    const vals = new Float64Array(8);
    vals[2] = 0x7ffffffe;
    vals[5] = 1;
    f.rebuild(8, vals);
    expect(f.total).to.equal(0x7fffffff);
    expect(f.lowerBound2(0x7ffffffe, 0x7fffffff)).to.equal(2);
    expect(f.second).to.equal(5);
    f.set(7, 1); // total 2^31: the general descent
    expect(f.lowerBound2(0x80000000, 1)).to.equal(7);
    expect(f.second).to.equal(2);
  });
});
