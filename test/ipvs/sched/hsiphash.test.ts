import { expect } from 'chai';
import fc from 'fast-check';
import { HsipKey, hsiphashU32, hsiphashU32Keyed, sipHash } from '../../../src/ipvs/sched/hsiphash.js';
import { MH_KEY1, MH_KEY2 } from '../../../src/ipvs/sched/mh.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('sched/hsiphash', () => {
  it('general SipHash-2-4 reproduces the reference vectors of the SipHash paper', () => {
    // key 00..0f; messages 00..(n-1): n = 0 and n = 15 (the paper's worked example)
    expect(sipHash(2, 4, KEY, seq(0))).to.equal(0x726fdb47dd0e0e31n);
    expect(sipHash(2, 4, KEY, seq(15))).to.equal(0xa129ca6149be45e5n);
  });

  it('SipHash-1-3 truncated to 32 bits matches the kernel self-test vectors of hsiphash on 64-bit', () => {
    // lib/test_siphash.c, test_vectors_hsiphash[0..5] (BITS_PER_LONG == 64), key 00..0f
    const expected = [0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67];
    expected.forEach((v, n) => expect(Number(sipHash(1, 3, KEY, seq(n)) & 0xffffffffn)).to.equal(v));
  });

  it('the allocation-free hsiphashU32 equals hsiphash(&u32, 4, key) for the test key', () => {
    const k = new HsipKey(0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908);
    // message 00 01 02 03 is the little-endian u32 0x03020100
    expect(hsiphashU32(0x03020100, k)).to.equal(0x88d38328);
  });

  it('hsiphashU32 agrees with the general SipHash-1-3 for any u32 and any key', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        fc.array(fc.nat(0xffffffff), { minLength: 4, maxLength: 4 }),
        (v, k) => {
          const key = new Uint8Array(16);
          const dv = new DataView(key.buffer);
          dv.setUint32(0, k[0], true);
          dv.setUint32(4, k[1], true);
          dv.setUint32(8, k[2], true);
          dv.setUint32(12, k[3], true);
          const msg = new Uint8Array(4);
          new DataView(msg.buffer).setUint32(0, v, true);
          const ref = Number(sipHash(1, 3, key, msg) & 0xffffffffn);
          return hsiphashU32(v, new HsipKey(k[1], k[0], k[3], k[2])) === ref;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hsiphashU32Keyed(key) equals hsiphashU32 for any u32 (signed or unsigned) and any key', () => {
    const u32 = fc.nat(0xffffffff);
    fc.assert(
      fc.property(u32, u32, u32, u32, fc.array(u32, { minLength: 1, maxLength: 20 }), (a, b, c, d, vs) => {
        const key = new HsipKey(a, b, c, d);
        const h = hsiphashU32Keyed(key);
        return vs.every((v) => {
          const ref = hsiphashU32(v, key);
          return h(v) === (ref | 0) && h(v | 0) === (ref | 0);
        });
      }),
      { numRuns: 1000 },
    );
    // the kernel self-test vector (message 00 01 02 03), and carries out of every low half
    expect(
      hsiphashU32Keyed(new HsipKey(0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908))(0x03020100) >>> 0,
    ).to.equal(0x88d38328);
    const ones = new HsipKey(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff])
      expect(hsiphashU32Keyed(ones)(v) >>> 0).to.equal(hsiphashU32(v, ones));
  });

  it('hsiphashU32Keyed with the mh keys equals hsiphashU32 on many inputs', () => {
    const h1 = hsiphashU32Keyed(MH_KEY1);
    const h2 = hsiphashU32Keyed(MH_KEY2);
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        (v) => h1(v) >>> 0 === hsiphashU32(v, MH_KEY1) && h2(v) >>> 0 === hsiphashU32(v, MH_KEY2),
      ),
      { numRuns: 5000 },
    );
  });

  it('mh keys are the two words 2654435761 and 2654446892 with zero high halves', () => {
    const asBytes = (w: number) => {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, w, true);
      dv.setUint32(8, w, true);
      return b;
    };
    const msg = new Uint8Array([0x64, 0, 0x0a, 0x0a]);
    const v = new DataView(msg.buffer).getUint32(0, true);
    expect(hsiphashU32(v, MH_KEY1)).to.equal(Number(sipHash(1, 3, asBytes(2654435761), msg) & 0xffffffffn));
    expect(hsiphashU32(v, MH_KEY2)).to.equal(Number(sipHash(1, 3, asBytes(2654446892), msg) & 0xffffffffn));
  });
});
