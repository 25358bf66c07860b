import { expect } from 'chai';
import fc from 'fast-check';
import { cmpProducts, fls, foldAddr, gcd, hash32, modU32Recip } from '../../../src/ipvs/sched/common.js';

describe('sched/common', () => {
  it('cmpProducts compares a*b with c*d exactly, also beyond 2^53', () => {
    const u32 = fc.nat(0xffffffff);
    fc.assert(
      fc.property(u32, u32, u32, u32, (a, b, c, d) => {
        const p = BigInt(a) * BigInt(b);
        const q = BigInt(c) * BigInt(d);
        return cmpProducts(a, b, c, d) === (p < q ? -1 : p > q ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
    // products that differ by one but round to the same double
    expect(cmpProducts(0xffffffff, 0xfffffffd, 0xfffffffe, 0xfffffffe)).to.equal(-1);
    expect(cmpProducts(3037000499, 3037000499, 3037000499, 3037000499)).to.equal(0);
    expect(cmpProducts(0x80000001, 0xffffffff, 0x80000000, 0xffffffff)).to.equal(1);
  });

  it('hash32 is hash_32(): multiply by 0x61C88647 modulo 2^32, keep the top bits', () => {
    expect(hash32(0, 8)).to.equal(0);
    expect(hash32(1, 8)).to.equal(0x61);
    expect(hash32(0x0a130064, 8)).to.equal(Number((BigInt(0x0a130064) * 0x61c88647n) & 0xffffffffn) >>> 24);
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 1, max: 31 }), (x, bits) => {
        const ref = Number(((BigInt(x) * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
        return hash32(x, bits) === ref;
      }),
    );
  });

  it('foldAddr keeps the IPv4 word and XORs the four IPv6 words', () => {
    expect(foldAddr(4, Uint32Array.of(0x0a000001, 0, 0, 0))).to.equal(0x0a000001);
    expect(foldAddr(6, Uint32Array.of(0x20010db8, 1, 2, 0xffffffff))).to.equal(
      (0x20010db8 ^ 1 ^ 2 ^ 0xffffffff) >>> 0,
    );
  });

  it('modU32Recip is the exact remainder for unsigned 32-bit values and any modulus', () => {
    const check = (x: number, m: number) => modU32Recip(x, m, 1 / m) === x % m;
    fc.assert(fc.property(fc.nat(0xffffffff), fc.integer({ min: 1, max: 2 ** 32 }), check), {
      numRuns: 3000,
    });
    // next to multiples of m, where the quotient from the reciprocal can be off by one
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 32 }),
        fc.nat(0xffffffff),
        fc.integer({ min: -2, max: 2 }),
        (m, k, d) => {
          const x = Math.floor(k / m) * m + d;
          return x < 0 || x > 0xffffffff || check(x, m);
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.maxSafeNat(), (x, m) => m === 0 || check(x, m)),
      { numRuns: 1000 },
    );
    expect(modU32Recip(0xfffffffe, 0x7fffffff, 1 / 0x7fffffff)).to.equal(0);
    for (const m of [1, 2, 3, 251, 4093, 131071, 0x7fffffff, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1])
      for (const x of [0, 1, m - 1, m, m + 1, 0xffffffff, 0xfffffffe, Math.floor(0xffffffff / m) * m])
        if (x <= 0xffffffff) expect(modU32Recip(x, m, 1 / m), `${x} mod ${m}`).to.equal(x % m);
  });

  it('gcd and fls behave as the kernel helpers', () => {
    expect(gcd(12, 18)).to.equal(6);
    expect(gcd(7, 1)).to.equal(1);
    expect([0, 1, 2, 3, 63, 64].map(fls)).to.deep.equal([0, 1, 2, 2, 6, 7]);
  });
});
