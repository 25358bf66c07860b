import { expect } from 'chai';
import fc from 'fast-check';
import {
  addNs,
  addUs,
  compareTs,
  diffNs,
  formatTs,
  Timestamp,
  TsConverter,
} from '../../src/capture/timestamp.js';

const E9 = 1000000000n;

/** The reference: BigInt arithmetic. */
function refConvert(units: bigint, tsresol: number): [number, number] {
  if (tsresol & 0x80) {
    const k = BigInt(tsresol & 0x7f);
    return [Number(units >> k), Number(((units & ((1n << k) - 1n)) * E9) >> k)];
  }
  const per = 10n ** BigInt(tsresol);
  return [Number(units / per), Number(((units % per) * E9) / per)];
}

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** Units whose seconds stay exact in a double (any real capture). */
const realistic = (tsresol: number): fc.Arbitrary<bigint> => {
  const perSec = tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  const max = (1n << 64n) - 1n < perSec * (1n << 40n) ? (1n << 64n) - 1n : perSec * (1n << 40n);
  return fc.bigInt({ min: 0n, max });
};

describe('capture timestamps', () => {
  it('converts pcapng timestamp units to seconds + nanoseconds exactly, for every 10^-n and 2^-n resolution', () => {
    const tsc = new TsConverter();
    const resols = [...Array(20).keys(), ...Array.from({ length: 64 }, (_, k) => 0x80 | k)];
    for (const r of resols) {
      fc.assert(
        fc.property(realistic(r), (units) => {
          tsc.convert(Number(units >> 32n), Number(units & 0xffffffffn), r);
          expect([tsc.sec, tsc.nsec], `tsresol ${r}, units ${units}`).to.deep.equal(refConvert(units, r));
        }),
        { numRuns: 60 },
      );
    }
  });

  it('converts 64-bit values above 2^53 at 10^-4 .. 10^-9 exactly (the estimate-and-correct path)', () => {
    const tsc = new TsConverter();
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 9 }),
        fc.bigInt({ min: 1n << 53n, max: (1n << 64n) - 1n }),
        (r, units) => {
          tsc.convert(Number(units >> 32n), Number(units & 0xffffffffn), r);
          expect([tsc.sec, tsc.nsec], `tsresol ${r}, units ${units}`).to.deep.equal(refConvert(units, r));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('converts the edge values (0, 2^53 boundary, all ones) of the common resolutions', () => {
    const tsc = new TsConverter();
    const edges = [
      0n,
      1n,
      (1n << 53n) - 1n,
      1n << 53n,
      (1n << 53n) + 1n,
      (1n << 64n) - 1n,
      1700000000999999999n,
    ];
    for (const r of [3, 6, 9, 0x80 | 20, 0x80 | 32, 0x80 | 63]) {
      for (const units of edges) {
        tsc.convert(Number(units >> 32n), Number(units & 0xffffffffn), r);
        const [sec, nsec] = refConvert(units, r);
        expect(tsc.nsec, `tsresol ${r}, units ${units}`).to.equal(nsec);
        // seconds beyond 2^53 are rounded like any double; below they are exact
        if (sec < 2 ** 53) expect(tsc.sec, `tsresol ${r}, units ${units}`).to.equal(sec);
      }
    }
  });

  it('divides a 64-bit value by up to 1e9 exactly', () => {
    const tsc = new TsConverter();
    fc.assert(
      fc.property(u64, fc.integer({ min: 1, max: 1e9 }), (v, d) => {
        tsc.divmod(Number(v >> 32n), Number(v & 0xffffffffn), d);
        const q = v / BigInt(d);
        expect([tsc.hi, tsc.lo, tsc.rem]).to.deep.equal([
          Number(q >> 32n),
          Number(q & 0xffffffffn),
          Number(v % BigInt(d)),
        ]);
      }),
    );
  });

  it('turns seconds + nanoseconds into a 64-bit nanosecond count (the pcapng writer timestamps)', () => {
    const tsc = new TsConverter();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 999999999 }),
        (s, ns) => {
          tsc.toNsUnits(s, ns);
          const v = BigInt(s) * E9 + BigInt(ns);
          expect([tsc.hi, tsc.lo]).to.deep.equal([Number(v >> 32n), Number(v & 0xffffffffn)]);
        },
      ),
    );
  });

  it('adds nanoseconds and microseconds with carry and borrow, normalising the result', () => {
    const out = new Timestamp();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 33 }),
        fc.integer({ min: 0, max: 1999999999 }),
        fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
        (s, ns, d) => {
          const total = BigInt(s) * E9 + BigInt(ns) + BigInt(d);
          const ret = addNs(out, s, ns, d);
          expect(ret).to.equal(out);
          const floorSec = total >= 0n ? total / E9 : -((-total + E9 - 1n) / E9);
          expect([out.sec, out.nsec]).to.deep.equal([Number(floorSec), Number(total - floorSec * E9)]);
        },
      ),
    );
    expect(addUs(out, 10, 999999000, 1)).to.deep.include({ sec: 11, nsec: 0 });
    expect(addNs(out, 10, 0, -1)).to.deep.include({ sec: 9, nsec: 999999999 });
    // the output may be one of the inputs' holder
    out.set(5, 500);
    addNs(out, out.sec, out.nsec, 1e9);
    expect([out.sec, out.nsec]).to.deep.equal([6, 500]);
  });

  it('compares, subtracts and formats timestamps', () => {
    expect(compareTs(1, 5, 1, 6)).to.equal(-1);
    expect(compareTs(2, 0, 1, 999999999)).to.equal(1);
    expect(compareTs(3, 3, 3, 3)).to.equal(0);
    expect(diffNs(1700000001, 5, 1700000000, 999999999)).to.equal(6);
    expect(diffNs(1700000000, 0, 1700000001, 0)).to.equal(-1e9);
    expect(formatTs(1700000000, 42)).to.equal('1700000000.000000042');
  });
});
