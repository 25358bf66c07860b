/**
 * wire/: the decode chain and the checksum helpers, each against a naive
 * baseline measured in the same run.
 *
 * - parseFrame on TCP/IPv4, TCP/IPv6 and a GUE tunnel (+ parseInner), vs
 *   parsePacket (plain Repr objects: what a straightforward decoder that
 *   allocates one object per header, and verifies as it goes, costs);
 * - big-endian reads by index arithmetic (bytes.ts) vs DataView;
 * - NAT rewrite of a 1500-byte TCP/IPv4 and TCP/IPv6 segment by RFC 1624
 *   updates vs full recomputation of the checksum; TTL decrement as
 *   ip_decrease_ttl() vs recomputing the IPv4 header checksum.
 *
 * Every loop folds its results into a value that is checked afterwards.
 */
import type { BenchContext, BenchSuite } from '../lib.js';
import { measureOps } from '../lib.js';
import { IpAddr } from '../../src/wire/addr.js';
import { rd16, rd32, wr16 } from '../../src/wire/bytes.js';
import {
  ipv4DecTtl,
  ipv4HeaderChecksum,
  l4Checksum4,
  l4Checksum6Words,
  update128,
  update16,
  update32,
} from '../../src/wire/checksum.js';
import { PacketInfo, parseFrame, parseInner } from '../../src/wire/parse.js';
import {
  EthernetRepr,
  GueRepr,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  UdpRepr,
  buildFrame,
  parsePacket,
  type LayerRepr,
} from '../../src/wire/repr.js';

const FRAMES = 64;
const OPS = 1024;

interface Ring {
  buf: Uint8Array;
  offs: Int32Array;
  lens: Int32Array;
}

/** FRAMES frames (client ports 40000..) laid out back to back in one buffer, as a capture reader delivers them. */
function ring(make: (i: number) => LayerRepr[], payloadLen: number): Ring {
  const frames = Array.from({ length: FRAMES }, (_, i) =>
    buildFrame(make(i), new Uint8Array(payloadLen).fill(i)),
  );
  const buf = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  const offs = new Int32Array(FRAMES);
  const lens = new Int32Array(FRAMES);
  let o = 0;
  frames.forEach((f, i) => {
    buf.set(f, o);
    offs[i] = o;
    lens[i] = f.length;
    o += f.length;
  });
  return { buf, offs, lens };
}

const MAC_A = 0x525400004001;
const MAC_B = 0x525400004002;
const C4 = IpAddr.parse('172.25.39.10');
const V4 = IpAddr.parse('172.25.40.100');
const R4 = IpAddr.parse('172.25.40.2');
const C6 = IpAddr.parse('2001:db8::10');
const V6 = IpAddr.parse('2001:db8:40::100');
const R6 = IpAddr.parse('2001:db8:36::12');
const synOpts = new Uint8Array([2, 4, 5, 180, 4, 2, 8, 10, 0, 1, 226, 64, 0, 0, 0, 0, 1, 3, 3, 7]);

const tcp4 = (i: number): LayerRepr[] => [
  new EthernetRepr({ dst: MAC_B, src: MAC_A }),
  new Ipv4Repr({ src: C4, dst: V4, id: i, df: true }),
  new TcpRepr({ sport: 40000 + i, dport: 80, seq: i * 7919, flags: 2, options: synOpts }),
];
const tcp6 = (i: number): LayerRepr[] => [
  new EthernetRepr({ dst: MAC_B, src: MAC_A }),
  new Ipv6Repr({ src: C6, dst: V6 }),
  new TcpRepr({ sport: 40000 + i, dport: 80, seq: i, flags: 0x10 }),
];
const gue = (i: number): LayerRepr[] => [
  new EthernetRepr({ dst: MAC_B, src: MAC_A }),
  new Ipv4Repr({ src: IpAddr.parse('172.25.84.4'), dst: IpAddr.parse('172.25.84.2') }),
  new UdpRepr({ sport: 30000 + i, dport: 6080 }),
  new GueRepr(),
  new Ipv4Repr({ src: C4, dst: V4, id: i, ttl: 63 }),
  new TcpRepr({ sport: 40000 + i, dport: 80, seq: i, flags: 2 }),
];

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`wire bench: result check failed: ${what}`);
}

function benchParse(ctx: BenchContext): void {
  const info = new PacketInfo();
  const inner = new PacketInfo();
  const cases: [string, Ring, boolean][] = [
    ['TCP/IPv4 SYN, 74 B', ring(tcp4, 0), false],
    ['TCP/IPv6 ACK + 100 B', ring(tcp6, 100), false],
    ['GUE tunnel (outer + parseInner)', ring(gue, 0), true],
  ];
  for (const [label, r, tunnel] of cases) {
    let sink = 0;
    let kf = 0;
    const fast = measureOps(
      `parseFrame ${label}`,
      () => {
        for (let n = 0; n < OPS; n++) {
          const i = kf++ & (FRAMES - 1);
          let rc = parseFrame(r.buf, r.offs[i], r.lens[i], r.lens[i], info);
          if (tunnel) rc |= parseInner(r.buf, info, inner, 6080);
          sink += rc === 0 ? (tunnel ? inner.sport : info.sport) : -1e9;
        }
      },
      OPS,
      ctx.smoke,
    );
    let sinkRef = 0;
    let k = 0;
    const slow = measureOps(
      `parsePacket ${label}`,
      () => {
        for (let n = 0; n < OPS / 16; n++) {
          const i = k++ & (FRAMES - 1);
          const p = parsePacket(r.buf, r.offs[i], r.offs[i] + r.lens[i], { guePort: 6080 });
          sinkRef += (p.layers[p.layers.length - 1] as TcpRepr).sport;
        }
      },
      OPS / 16,
      ctx.smoke,
    );
    // every frame decoded: frame i carries client port 40000 + i
    const portSum = (m: number) => {
      const q = Math.floor(m / FRAMES);
      const rest = m % FRAMES;
      return q * (FRAMES * 40000 + (FRAMES * (FRAMES - 1)) / 2) + rest * 40000 + (rest * (rest - 1)) / 2;
    };
    check(sink === portSum(kf), `${label}: parseFrame results`);
    check(sinkRef === portSum(k), `${label}: parsePacket results`);
    let sum = 0;
    for (let i = 0; i < FRAMES; i++) {
      check(parseFrame(r.buf, r.offs[i], r.lens[i], r.lens[i], info) === 0, `${label} frame ${i} decodes`);
      if (tunnel) check(parseInner(r.buf, info, inner, 6080) === 0, 'inner decodes');
      sum += tunnel ? inner.sport : info.sport;
    }
    check(sum === FRAMES * 40000 + (FRAMES * (FRAMES - 1)) / 2, `${label} ports`);
    ctx.record({
      name: `parseFrame ${label}`,
      unit: 'ns/op',
      median: fast.medianNs,
      min: fast.minNs,
      max: fast.maxNs,
      rme: fast.rme,
      samples: fast.samples,
      baseline: 'parsePacket (Repr objects)',
      ratio: slow.medianNs / fast.medianNs,
      ratioNote: 'baseline ns / parseFrame ns',
      target: 'tens of ns',
      met: ctx.smoke ? undefined : fast.medianNs < 100,
      notes: `parsePacket ${slow.medianNs.toFixed(0)} ns/op`,
    });
  }
}

function benchBytes(ctx: BenchContext): void {
  const r = ring(tcp4, 0);
  const dv = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength);
  let a = 0;
  let b = 0;
  let k = 0;
  // read the fields a decoder reads: type, total length, ports, seq, ack, flags word
  const idx = measureOps(
    'rd16/rd32 (index arithmetic)',
    () => {
      for (let n = 0; n < OPS; n++) {
        const o = r.offs[k++ & (FRAMES - 1)];
        a += rd16(r.buf, o + 12) + rd16(r.buf, o + 16) + rd16(r.buf, o + 34) + rd16(r.buf, o + 36);
        a += (rd32(r.buf, o + 38) ^ rd32(r.buf, o + 42)) + rd16(r.buf, o + 46);
        a %= 0x40000000;
      }
    },
    OPS,
    ctx.smoke,
  );
  k = 0;
  const view = measureOps(
    'DataView getUint16/getUint32',
    () => {
      for (let n = 0; n < OPS; n++) {
        const o = r.offs[k++ & (FRAMES - 1)];
        b += dv.getUint16(o + 12) + dv.getUint16(o + 16) + dv.getUint16(o + 34) + dv.getUint16(o + 36);
        b += (dv.getUint32(o + 38) ^ dv.getUint32(o + 42)) + dv.getUint16(o + 46);
        b %= 0x40000000;
      }
    },
    OPS,
    ctx.smoke,
  );
  check(a >= 0 && b >= 0, 'sums');
  ctx.record({
    name: 'big-endian field reads (7 per frame)',
    unit: 'ns/op',
    median: idx.medianNs,
    min: idx.minNs,
    max: idx.maxNs,
    rme: idx.rme,
    samples: idx.samples,
    baseline: 'DataView',
    ratio: view.medianNs / idx.medianNs,
    ratioNote: 'DataView ns / index-arithmetic ns',
    notes: `DataView ${view.medianNs.toFixed(1)} ns/op`,
  });
}

function benchChecksums(ctx: BenchContext): void {
  // 1500-byte IP packets: a NAT rewrite of the destination address and port
  const cases: [string, Ring, 4 | 6][] = [
    ['TCP/IPv4 1500 B', ring(tcp4, 1440), 4],
    ['TCP/IPv6 1500 B', ring(tcp6, 1420), 6],
  ];
  const info = new PacketInfo();
  for (const [label, r, af] of cases) {
    const n = FRAMES;
    const l4 = new Int32Array(n);
    const l4Len = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      check(parseFrame(r.buf, r.offs[i], r.lens[i], r.lens[i], info) === 0, 'decodes');
      l4[i] = info.l4Off;
      l4Len[i] = info.l4Len;
    }
    const vaddr = new Uint32Array(4);
    const raddr = new Uint32Array(4);
    (af === 4 ? V4 : V6).writeWords(vaddr);
    (af === 4 ? R4 : R6).writeWords(raddr);
    const saddr = new Uint32Array(4);
    (af === 4 ? C4 : C6).writeWords(saddr);
    // NAT there and back (VIP:80 -> RIP:8080 -> VIP:80), so the buffer is unchanged after each pair
    const inc = measureOps(
      `incremental NAT checksum ${label}`,
      () => {
        for (let j = 0; j < OPS; j++) {
          const o = l4[j & (n - 1)] + 16;
          let c = rd16(r.buf, o);
          c = af === 4 ? update32(c, vaddr[0], raddr[0]) : update128(c, vaddr, 0, raddr, 0);
          c = update16(c, 80, 8080);
          c = af === 4 ? update32(c, raddr[0], vaddr[0]) : update128(c, raddr, 0, vaddr, 0);
          wr16(r.buf, o, update16(c, 8080, 80));
        }
      },
      2 * OPS,
      ctx.smoke,
    );
    const full = measureOps(
      `full checksum ${label}`,
      () => {
        for (let j = 0; j < OPS / 8; j++) {
          const i = j & (n - 1);
          const c =
            af === 4
              ? l4Checksum4(r.buf, l4[i], l4Len[i], saddr[0], vaddr[0], 6)
              : l4Checksum6Words(r.buf, l4[i], l4Len[i], saddr, 0, vaddr, 0, 6);
          wr16(r.buf, l4[i] + 16, c);
        }
      },
      OPS / 8,
      ctx.smoke,
    );
    for (let i = 0; i < n; i++) {
      const want =
        af === 4
          ? l4Checksum4(r.buf, l4[i], l4Len[i], saddr[0], vaddr[0], 6)
          : l4Checksum6Words(r.buf, l4[i], l4Len[i], saddr, 0, vaddr, 0, 6);
      check(rd16(r.buf, l4[i] + 16) === want, `${label} checksum still valid`);
    }
    ctx.record({
      name: `NAT checksum update ${label} (address + port)`,
      unit: 'ns/op',
      median: inc.medianNs,
      min: inc.minNs,
      max: inc.maxNs,
      rme: inc.rme,
      samples: inc.samples,
      baseline: 'full recomputation',
      ratio: full.medianNs / inc.medianNs,
      ratioNote: 'full ns / incremental ns',
      notes: `full recomputation ${full.medianNs.toFixed(0)} ns/op`,
    });
  }

  // TTL decrement: ip_decrease_ttl() vs recomputing the header checksum
  const r = ring(tcp4, 0);
  const hdr = new Uint8Array(20 * FRAMES);
  for (let i = 0; i < FRAMES; i++) hdr.set(r.buf.subarray(r.offs[i] + 14, r.offs[i] + 34), 20 * i);
  let k = 0;
  const dec = measureOps(
    'ipv4DecTtl',
    () => {
      for (let j = 0; j < OPS; j++) {
        const o = 20 * (k++ & (FRAMES - 1));
        if (hdr[o + 8] < 2) hdr[o + 8] = 255;
        ipv4DecTtl(hdr, o);
      }
    },
    OPS,
    ctx.smoke,
  );
  // after wrapping TTLs by hand the checksums are stale: fix them once, then measure recomputation
  for (let i = 0; i < FRAMES; i++) wr16(hdr, 20 * i + 10, ipv4HeaderChecksum(hdr, 20 * i));
  const rec = measureOps(
    'TTL - 1 + ipv4HeaderChecksum',
    () => {
      for (let j = 0; j < OPS; j++) {
        const o = 20 * (k++ & (FRAMES - 1));
        hdr[o + 8] = hdr[o + 8] < 2 ? 255 : hdr[o + 8] - 1;
        wr16(hdr, o + 10, ipv4HeaderChecksum(hdr, o));
      }
    },
    OPS,
    ctx.smoke,
  );
  for (let i = 0; i < FRAMES; i++) {
    ipv4DecTtl(hdr, 20 * i);
    check(rd16(hdr, 20 * i + 10) === ipv4HeaderChecksum(hdr, 20 * i), 'TTL checksum');
  }
  ctx.record({
    name: 'IPv4 TTL decrement with checksum fix',
    unit: 'ns/op',
    median: dec.medianNs,
    min: dec.minNs,
    max: dec.maxNs,
    rme: dec.rme,
    samples: dec.samples,
    baseline: 'header checksum recomputation',
    ratio: rec.medianNs / dec.medianNs,
    ratioNote: 'recompute ns / ipv4DecTtl ns',
    notes: `recomputation ${rec.medianNs.toFixed(1)} ns/op`,
  });
}

export const suite: BenchSuite = {
  name: 'wire',
  description: 'decode chain and checksum helpers vs naive baselines',
  async run(ctx) {
    benchParse(ctx);
    benchBytes(ctx);
    benchChecksums(ctx);
  },
};
