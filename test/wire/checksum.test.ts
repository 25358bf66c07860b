import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import {
  CSUM_MANGLED_0,
  checksumSkip,
  crc32c,
  finish,
  fold,
  ipv4DecTtl,
  ipv4HeaderChecksum,
  ipv4HeaderChecksumOk,
  ipv6DecHopLimit,
  l4Checksum4,
  l4Checksum6,
  l4Checksum6Words,
  l4ChecksumOk4,
  l4ChecksumOk6Words,
  pseudo4,
  pseudo6,
  pseudo6Words,
  sctpChecksum,
  sum16,
  update128,
  update16,
  update32,
} from '../../src/wire/checksum.js';
import { hexToBytes, rd16, rd32, wr16, wr32 } from '../../src/wire/bytes.js';
import { IpProto } from '../../src/wire/ip.js';
import { PacketInfo, parseFrame } from '../../src/wire/parse.js';
import { readPcap } from './support/pcap-lite.js';

// ---------------------------------------------------------------- references

/** Naive RFC 1071 over a byte list: the test oracle for "full recomputation". */
function naive(bytes: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

const be16 = (v: number) => [(v >>> 8) & 255, v & 255];
const be32 = (w: number) => [(w >>> 24) & 255, (w >>> 16) & 255, (w >>> 8) & 255, w & 255];
const swap16 = (v: number) => ((v & 0xff) << 8) | (v >>> 8);

/**
 * A literal model of the kernel's x86-64 arithmetic on memory bytes (BigInt
 * for the 64-bit accumulator), written independently of checksum.ts:
 * csum_partial() adds little-endian u64/u32 loads with end-around carry and
 * folds to 32 bits with add32_with_carry(); csum_fold() is the two-
 * instruction asm (addl sum<<16 to sum & 0xffff0000, adcl $0xffff) followed
 * by ~sum >> 16; the result is a host-order u16 stored little-endian.
 */
const M64 = 1n << 64n;
function kCsumPartial(mem: number[], sum: number): number {
  let t = BigInt(sum >>> 0);
  let i = 0;
  const add = (v: bigint) => {
    t += v;
    if (t >= M64) t = t - M64 + 1n;
  };
  for (; i + 8 <= mem.length; i += 8) {
    let v = 0n;
    for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(mem[i + k]);
    add(v);
  }
  if (i + 4 <= mem.length) {
    add(BigInt(mem[i] | (mem[i + 1] << 8) | (mem[i + 2] << 16)) + (BigInt(mem[i + 3]) << 24n));
    i += 4;
  }
  if (i !== mem.length) throw new Error('model: lengths used by IPVS only');
  let r = (t >> 32n) + (t & 0xffffffffn);
  if (r >= 1n << 32n) r = r - (1n << 32n) + 1n;
  return Number(r);
}
function kCsumFold(sum: number): number {
  let s = ((sum & 0xffff0000) >>> 0) + ((sum << 16) >>> 0);
  const carry = s >= 2 ** 32 ? 1 : 0;
  s = (s % 2 ** 32) + 0xffff + carry;
  s = s % 2 ** 32;
  return (~s >>> 16) & 0xffff;
}
/** `~csum_unfold(field)`: the field's bytes read as a host u16, zero-extended, complemented. */
function kNotUnfold(fieldBE: number): number {
  return ~swap16(fieldBE) >>> 0;
}
/** Host-order result stored little-endian, read back as the big-endian field. */
function kStore(host: number): number {
  return swap16(host);
}
function kDiff2(o: number, n: number, sum: number): number {
  return kCsumPartial([...be16(~o & 0xffff), ...be16(n)], sum);
}
function kDiff4(o: number, n: number, sum: number): number {
  return kCsumPartial([...be32(~o >>> 0), ...be32(n)], sum);
}
function kDiff16(o: number[], n: number[], sum: number): number {
  const mem = [3, 2, 1, 0].flatMap((i) => be32(~o[i] >>> 0)).concat([3, 2, 1, 0].flatMap((i) => be32(n[i])));
  return kCsumPartial(mem, sum);
}
/** ip_decrease_ttl() on little-endian: host u16 + htons(0x0100), then + (check >= 0xFFFF). */
function kDecTtlField(fieldBE: number): number {
  let check = swap16(fieldBE);
  check += 0x0001;
  return swap16((check + (check >= 0xffff ? 1 : 0)) & 0xffff);
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const edge16 = fc.oneof(u16, fc.constantFrom(0, 1, 0xfeff, 0xff00, 0xfffe, 0xffff, 0x0100, 0x00ff));
const edge32 = fc.oneof(u32, fc.constantFrom(0, 0xffffffff, 0xffff0000, 0x0000ffff, 1));

describe('wire/checksum', () => {
  describe('RFC 1071 sum', () => {
    it('sums the RFC 1071 example words to 0xddf2 and complements to 0x220d', () => {
      const b = hexToBytes('00 01 f2 03 f4 f5 f6 f7');
      expect(fold(sum16(b, 0, 8))).to.equal(0xddf2);
      expect(finish(sum16(b, 0, 8))).to.equal(0x220d);
    });

    it('pads an odd trailing byte with zero', () => {
      const b = hexToBytes('12 34 56');
      expect(sum16(b, 0, 3)).to.equal(0x1234 + 0x5600);
      expect(sum16(b, 1, 1)).to.equal(0x3400);
    });

    it('folds any accumulator to the one value of its residue class (0 only for 0)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (acc) => {
          const f = fold(acc);
          expect(f).to.be.within(0, 0xffff);
          if (acc === 0) expect(f).to.equal(0);
          else {
            expect(f).to.be.greaterThan(0);
            expect(f % 0xffff).to.equal(acc % 0xffff);
          }
        }),
      );
    });

    it('matches a naive byte-wise sum for random data at any offset and length', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (data, a, b) => {
          const off = data.length ? a % data.length : 0;
          const len = data.length - off ? b % (data.length - off + 1) : 0;
          expect(finish(sum16(data, off, len))).to.equal(naive(data.subarray(off, off + len)));
        }),
      );
    });

    it('computes the classic IPv4 header example checksum 0xb861', () => {
      const h = hexToBytes('45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7');
      expect(ipv4HeaderChecksum(h, 0)).to.equal(0xb861);
      expect(ipv4HeaderChecksumOk(h, 0)).to.equal(false);
      wr16(h, 10, 0xb861);
      expect(ipv4HeaderChecksumOk(h, 0)).to.equal(true);
      expect(ipv4HeaderChecksum(h, 0)).to.equal(0xb861); // the field itself is skipped
    });

    it('pseudo-header sums equal the sums of the pseudo-header bytes', () => {
      fc.assert(
        fc.property(u32, u32, fc.integer({ min: 0, max: 255 }), u16, (s, d, p, len) => {
          expect(fold(pseudo4(s, d, p, len))).to.equal(
            fold(sum16(new Uint8Array([...be32(s), ...be32(d), 0, p, ...be16(len)]), 0, 12)),
          );
        }),
      );
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.integer({ min: 0, max: 255 }),
          u32,
          (a, p, len) => {
            const bytes = new Uint8Array([...a, ...be32(len), 0, 0, 0, p]);
            const words = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => rd32(a, 4 * i));
            const ref = fold(sum16(bytes, 0, 40));
            expect(fold(pseudo6(a, 0, 16, p, len))).to.equal(ref);
            expect(fold(pseudo6Words(words, 0, words, 4, p, len))).to.equal(ref);
          },
        ),
      );
    });

    it('CRC32c of "123456789" is 0xe3069283; sctpChecksum skips the checksum field', () => {
      expect(crc32c(new TextEncoder().encode('123456789'), 0, 9)).to.equal(0xe3069283);
      const pkt = new Uint8Array(32).map((_, i) => i * 7);
      const zeroed = pkt.slice();
      zeroed.fill(0, 8, 12);
      expect(sctpChecksum(pkt, 0, 32)).to.equal(crc32c(zeroed, 0, 32));
    });
  });

  describe('full L4 checksums', () => {
    const seg = fc.record({
      src: u32,
      dst: u32,
      proto: fc.constantFrom(IpProto.TCP, IpProto.UDP, IpProto.ICMP),
      body: fc.uint8Array({ minLength: 20, maxLength: 120 }),
    });

    it('l4Checksum4 equals a naive sum over pseudo-header + segment (UDP 0 sent as 0xffff, ICMP without pseudo-header)', () => {
      fc.assert(
        fc.property(seg, ({ src, dst, proto, body }) => {
          const rel = proto === IpProto.TCP ? 16 : proto === IpProto.UDP ? 6 : 2;
          const z = body.slice();
          z[rel] = z[rel + 1] = 0;
          const pseudo =
            proto === IpProto.ICMP ? [] : [...be32(src), ...be32(dst), 0, proto, ...be16(body.length)];
          let want = naive([...pseudo, ...z]);
          if (proto === IpProto.UDP && want === 0) want = 0xffff;
          expect(l4Checksum4(body, 0, body.length, src, dst, proto)).to.equal(want);
          wr16(body, rel, want);
          expect(l4ChecksumOk4(body, 0, body.length, src, dst, proto)).to.equal(true);
        }),
      );
    });

    it('l4Checksum6 (addresses from bytes or words) equals a naive sum with the IPv6 pseudo-header', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.constantFrom(IpProto.TCP, IpProto.UDP, IpProto.ICMPV6),
          fc.uint8Array({ minLength: 20, maxLength: 121 }),
          (addrs, proto, body) => {
            const rel = proto === IpProto.TCP ? 16 : proto === IpProto.UDP ? 6 : 2;
            const z = body.slice();
            z[rel] = z[rel + 1] = 0;
            let want = naive([...addrs, ...be32(body.length), 0, 0, 0, proto, ...z]);
            if (proto === IpProto.UDP && want === 0) want = 0xffff;
            const buf = new Uint8Array([...addrs, ...body]);
            expect(l4Checksum6(buf, 32, body.length, 0, 16, proto)).to.equal(want);
            const w = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => rd32(addrs, 4 * i));
            expect(l4Checksum6Words(buf, 32, body.length, w, 0, w, 4, proto)).to.equal(want);
            wr16(buf, 32 + rel, want);
            expect(l4ChecksumOk6Words(buf, 32, body.length, w, 0, w, 4, proto)).to.equal(true);
          },
        ),
      );
    });

    it('returns -1 for a protocol without an Internet checksum', () => {
      const b = new Uint8Array(20);
      expect(l4Checksum4(b, 0, 20, 1, 2, IpProto.SCTP)).to.equal(-1);
      expect(l4Checksum6(b, 0, 20, 0, 0, IpProto.GRE)).to.equal(-1);
    });

    it('treats an IPv4 UDP checksum of 0 as "none"', () => {
      const b = new Uint8Array(12).fill(9);
      wr16(b, 6, 0);
      expect(l4ChecksumOk4(b, 0, 12, 1, 2, IpProto.UDP)).to.equal(true);
    });
  });

  describe('incremental updates compute exactly what the kernel computes', () => {
    it('update16 = csum_fold(ip_vs_check_diff2(old, new, ~csum_unfold(check))) for every input', () => {
      fc.assert(
        fc.property(edge16, edge16, edge16, (check, o, n) => {
          expect(update16(check, o, n)).to.equal(kStore(kCsumFold(kDiff2(o, n, kNotUnfold(check)))));
        }),
        { numRuns: 5000 },
      );
    });

    it('update32 = csum_fold(ip_vs_check_diff4(old, new, ~csum_unfold(check)))', () => {
      fc.assert(
        fc.property(edge16, edge32, edge32, (check, o, n) => {
          expect(update32(check, o, n)).to.equal(kStore(kCsumFold(kDiff4(o, n, kNotUnfold(check)))));
        }),
        { numRuns: 5000 },
      );
    });

    it('update128 = csum_fold(ip_vs_check_diff16(old, new, ~csum_unfold(check)))', () => {
      fc.assert(
        fc.property(
          edge16,
          fc.array(edge32, { minLength: 4, maxLength: 4 }),
          fc.array(edge32, { minLength: 4, maxLength: 4 }),
          (check, o, n) => {
            const oldW = new Uint32Array([7, ...o]);
            expect(update128(check, oldW, 1, n, 0)).to.equal(
              kStore(kCsumFold(kDiff16(o, n, kNotUnfold(check)))),
            );
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('chained address + port updates equal the kernel single fold (tcp_fast_csum_update)', () => {
      fc.assert(
        fc.property(edge16, edge32, edge32, edge16, edge16, (check, oa, na, op, np) => {
          const kernel = kStore(kCsumFold(kDiff4(oa, na, kDiff2(op, np, kNotUnfold(check)))));
          expect(update16(update32(check, oa, na), op, np)).to.equal(kernel);
        }),
        { numRuns: 5000 },
      );
    });

    it('never returns 0xffff, whatever the input', () => {
      fc.assert(
        fc.property(edge16, edge32, edge32, (check, o, n) => {
          expect(update16(check, o & 0xffff, n & 0xffff)).to.not.equal(0xffff);
          expect(update32(check, o, n)).to.not.equal(0xffff);
        }),
      );
      expect(update16(0xffff, 0xffff, 0)).to.equal(0); // csum_replace2 would give 0xffff here
    });

    it('ipv4DecTtl = ip_decrease_ttl() on little-endian x86 for all 65536 checksum fields', () => {
      const h = new Uint8Array(20);
      const wrong: string[] = [];
      for (let c = 0; c <= 0xffff; c++) {
        h[8] = 64;
        wr16(h, 10, c);
        if (ipv4DecTtl(h, 0) !== 63 || rd16(h, 10) !== kDecTtlField(c)) wrong.push(c.toString(16));
      }
      expect(wrong).to.deep.equal([]);
    });

    it('ipv4DecTtl edge values: 0xfeff -> 0x0000, 0xffff -> 0x0100, 0xff00 -> 0x0001, 0x0000 -> 0x0100', () => {
      const cases: [number, number][] = [
        [0xfeff, 0x0000],
        [0xffff, 0x0100],
        [0xff00, 0x0001],
        [0xff01, 0x0002],
        [0x0000, 0x0100],
        [0x1234, 0x1334],
      ];
      for (const [before, after] of cases) {
        const h = new Uint8Array(20);
        h[8] = 2;
        wr16(h, 10, before);
        expect(ipv4DecTtl(h, 0)).to.equal(1);
        expect(rd16(h, 10), before.toString(16)).to.equal(after);
      }
    });

    it('ipv6DecHopLimit decrements the hop limit only', () => {
      const h = new Uint8Array(40).fill(0xaa);
      h[7] = 64;
      expect(ipv6DecHopLimit(h, 0)).to.equal(63);
      expect(h[7]).to.equal(63);
      expect([...h.subarray(0, 7), ...h.subarray(8)].every((x) => x === 0xaa)).to.equal(true);
    });
  });

  describe('incremental update vs full recomputation (property)', () => {
    /**
     * The one legitimate difference: when the data a checksum covers becomes
     * all zero bytes, a full recomputation gives 0xffff (~0) and an
     * incremental update gives 0x0000 (it never yields 0xffff). Only ICMPv4
     * (no pseudo-header) can get there; TCP, UDP and ICMPv6 have a non-zero
     * protocol in the pseudo-header, and an IPv4 header has version 4.
     */
    function sameOrPlusMinusZero(inc: number, full: number, body: Uint8Array, csumOff: number): void {
      if (inc === full) return;
      const covered = body.slice();
      covered[csumOff] = covered[csumOff + 1] = 0;
      const allZero = covered.every((x) => x === 0);
      expect({ inc, full, allZero }).to.deep.equal({ inc: 0, full: 0xffff, allZero: true });
    }

    type Pkt = { af: 4 | 6; proto: number; src: number[]; dst: number[]; body: Uint8Array };
    const zeroish = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      fc.uint8Array({ maxLength: 9 }).map((a) => new Uint8Array(a.length)),
    );
    const pkt: fc.Arbitrary<Pkt> = fc
      .record({
        af: fc.constantFrom<4 | 6>(4, 6),
        kind: fc.constantFrom('tcp', 'udp', 'icmp'),
        a: fc.array(u32, { minLength: 8, maxLength: 8 }),
        hdr: fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.constant(new Uint8Array(20))),
        payload: zeroish,
      })
      .map(({ af, kind, a, hdr, payload }) => {
        const proto =
          kind === 'tcp'
            ? IpProto.TCP
            : kind === 'udp'
              ? IpProto.UDP
              : af === 4
                ? IpProto.ICMP
                : IpProto.ICMPV6;
        const hl = proto === IpProto.TCP ? 20 : 8;
        const body = new Uint8Array(hl + payload.length);
        body.set(hdr.subarray(0, hl));
        body.set(payload, hl);
        const src = af === 4 ? [a[0], 0, 0, 0] : a.slice(0, 4);
        const dst = af === 4 ? [a[4], 0, 0, 0] : a.slice(4, 8);
        return { af, proto, src, dst, body };
      });
    const rel = (p: number) => (p === IpProto.TCP ? 16 : p === IpProto.UDP ? 6 : 2);
    function full(p: Pkt): number {
      const b = p.body;
      return p.af === 4
        ? l4Checksum4(b, 0, b.length, p.src[0], p.dst[0], p.proto)
        : l4Checksum6Words(b, 0, b.length, p.src, 0, p.dst, 0, p.proto);
    }
    const mangle = (p: Pkt, c: number) => (p.proto === IpProto.UDP && c === 0 ? CSUM_MANGLED_0 : c);

    it('for a 16-bit field (port, ICMP id): equal, except the ICMPv4 all-zero case', () => {
      fc.assert(
        fc.property(pkt, u16, fc.boolean(), (p, nv, second) => {
          wr16(p.body, rel(p.proto), full(p));
          const o = p.proto === IpProto.TCP || p.proto === IpProto.UDP ? (second ? 2 : 0) : 4;
          const old = rd16(p.body, o);
          const inc = mangle(p, update16(rd16(p.body, rel(p.proto)), old, nv));
          wr16(p.body, o, nv);
          sameOrPlusMinusZero(inc, full(p), p.body, rel(p.proto));
        }),
        { numRuns: 3000 },
      );
    });

    it('for a 32-bit field (IPv4 address in the pseudo-header, TCP sequence, ICMP rest-of-header)', () => {
      fc.assert(
        fc.property(pkt, u32, fc.constantFrom('addr', 'data'), (p, nw, what) => {
          wr16(p.body, rel(p.proto), full(p));
          const check = rd16(p.body, rel(p.proto));
          let inc: number;
          if (what === 'addr' && p.af === 4 && p.proto !== IpProto.ICMP) {
            inc = update32(check, p.dst[0], nw);
            p.dst[0] = nw;
          } else {
            // TCP sequence number or ICMP rest-of-header (UDP bytes 4..7 hold its length and checksum)
            if (p.proto === IpProto.UDP) return;
            const o = 4;
            inc = update32(check, rd32(p.body, o), nw);
            wr32(p.body, o, nw);
          }
          sameOrPlusMinusZero(mangle(p, inc), full(p), p.body, rel(p.proto));
        }),
        { numRuns: 3000 },
      );
    });

    it('for a 128-bit field (IPv6 address in the pseudo-header): always equal', () => {
      fc.assert(
        fc.property(
          pkt.filter((p) => p.af === 6),
          fc.array(u32, { minLength: 4, maxLength: 4 }),
          fc.boolean(),
          (p, nw, src) => {
            wr16(p.body, rel(p.proto), full(p));
            const target = src ? p.src : p.dst;
            const inc = mangle(p, update128(rd16(p.body, rel(p.proto)), target, 0, nw, 0));
            for (let i = 0; i < 4; i++) target[i] = nw[i];
            expect(inc).to.equal(full(p));
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('for the TTL decrement of an IPv4 header (with options): always equal', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 60, maxLength: 60 }),
          fc.integer({ min: 5, max: 15 }),
          fc.integer({ min: 1, max: 255 }),
          (raw, ihl, ttl) => {
            raw[0] = 0x40 | ihl;
            raw[8] = ttl;
            wr16(raw, 10, ipv4HeaderChecksum(raw, 0));
            ipv4DecTtl(raw, 0);
            expect(raw[8]).to.equal(ttl - 1);
            expect(rd16(raw, 10)).to.equal(ipv4HeaderChecksum(raw, 0));
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('the ICMPv4 all-zero case: full recomputation 0xffff, incremental 0x0000', () => {
      // echo reply, code 0, id 0x0001 -> 0x0000, seq 0, no data
      const m = hexToBytes('00 00 00 00 00 01 00 00');
      wr16(m, 2, checksumSkip(m, 0, 8, 2));
      expect(rd16(m, 2)).to.equal(0xfffe);
      const inc = update16(rd16(m, 2), 0x0001, 0x0000);
      wr16(m, 4, 0);
      expect(inc).to.equal(0x0000);
      expect(checksumSkip(m, 0, 8, 2)).to.equal(0xffff);
      // both verify: 0x0000 and 0xffff are the two zeros of one's complement
      for (const c of [inc, 0xffff]) {
        wr16(m, 2, c);
        expect(fold(sum16(m, 0, 8)) % 0xffff).to.equal(0);
      }
    });

    it('a wrong checksum stays wrong by the same amount (the verification residual is preserved)', () => {
      fc.assert(
        fc.property(
          pkt.filter((p) => p.proto !== IpProto.UDP),
          u16,
          u16,
          (p, bad, nv) => {
            wr16(p.body, rel(p.proto), bad);
            const residual = () => {
              const acc =
                p.proto === IpProto.ICMP
                  ? 0
                  : p.af === 4
                    ? pseudo4(p.src[0], p.dst[0], p.proto, p.body.length)
                    : pseudo6Words(p.src, 0, p.dst, 0, p.proto, p.body.length);
              return fold(sum16(p.body, 0, p.body.length, acc)) % 0xffff;
            };
            const before = residual();
            const o = p.proto === IpProto.TCP ? 0 : 4;
            wr16(p.body, rel(p.proto), update16(bad, rd16(p.body, o), nv));
            wr16(p.body, o, nv);
            expect(residual()).to.equal(before);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe('against the real kernel (oracle captures)', () => {
    /**
     * Pairs each frame a real 6.1 director sent with the frame it received
     * (same IP ID, protocol, length, sequence number, TTL one lower) and
     * replays the kernel's rewrite with our helpers: DR/TUN (addresses
     * unchanged) must give the exact IP header via ipv4DecTtl; NAT (an
     * address changed) the exact TCP/UDP checksum via update32/update128 +
     * update16.
     */
    const root = path.join('test', 'oracle', 'scenarios');
    const a = new PacketInfo();
    const b = new PacketInfo();
    let ttlPairs = 0;
    let natPairs = 0;
    let nat6Pairs = 0;

    before(() => {
      for (const sc of readdirSync(root)) {
        const dir = path.join(root, sc);
        const ins = readdirSync(dir)
          .filter((f) => f.endsWith('.pcap'))
          .flatMap((f) => readPcap(path.join(dir, f)).map((x) => x.data));
        const outs = readdirSync(path.join(dir, 'expected'))
          .filter((f) => f.endsWith('.pcap'))
          .flatMap((f) => readPcap(path.join(dir, 'expected', f)).map((x) => x.data));
        for (const o of outs) {
          if (parseFrame(o, 0, o.length, o.length, b) !== 0 || b.af === 0 || b.isFragment) continue;
          for (const i of ins) {
            if (parseFrame(i, 0, i.length, i.length, a) !== 0 || a.af !== b.af || a.isFragment) continue;
            if (a.ipId !== b.ipId || a.proto !== b.proto || a.ipTotalLen !== b.ipTotalLen) continue;
            if (
              a.ttl !== b.ttl + 1 ||
              a.tcpSeq !== b.tcpSeq ||
              a.tcpAck !== b.tcpAck ||
              a.tcpFlags !== b.tcpFlags
            )
              continue;
            const sameAddrs =
              a.saddr.every((w, k) => w === b.saddr[k]) && a.daddr.every((w, k) => w === b.daddr[k]);
            const ip = i.slice(a.l3Off, a.l3End);
            if (sameAddrs && a.af === 4) {
              ipv4DecTtl(ip, 0);
              expect([...ip]).to.deep.equal([...o.subarray(b.l3Off, b.l3End)]);
              ttlPairs++;
            } else if (!sameAddrs && (a.proto === IpProto.TCP || a.proto === IpProto.UDP)) {
              const co = a.proto === IpProto.TCP ? 16 : 6;
              let c = rd16(ip, a.ipHdrLen + co);
              if (a.proto === IpProto.UDP && c === 0) continue;
              const dstChanged = a.daddr[0] !== b.daddr[0] || a.daddr[3] !== b.daddr[3];
              const [oa, na] = dstChanged ? [a.daddr, b.daddr] : [a.saddr, b.saddr];
              c = a.af === 4 ? update32(c, oa[0], na[0]) : update128(c, oa, 0, na, 0);
              c = dstChanged ? update16(c, a.dport, b.dport) : update16(c, a.sport, b.sport);
              if (a.proto === IpProto.UDP && c === 0) c = CSUM_MANGLED_0;
              expect(c).to.equal(rd16(o, b.l4Off + co));
              if (a.af === 4) natPairs++;
              else nat6Pairs++;
            }
            break;
          }
        }
      }
    });

    it('ipv4DecTtl reproduces every DR/TUN IPv4 header the kernel forwarded', () => {
      expect(ttlPairs).to.be.greaterThan(500);
    });

    it('update32 + update16 reproduce every IPv4 NAT TCP/UDP checksum the kernel wrote', () => {
      expect(natPairs).to.be.greaterThan(300);
    });

    it('update128 + update16 reproduce every IPv6 NAT TCP checksum the kernel wrote', () => {
      expect(nat6Pairs).to.be.greaterThan(10);
    });
  });
});
