/**
 * fast-check arbitraries for hostile traffic: plausible frames toward the
 * set-ups of setups.ts (small pools of clients, ports and real servers, so
 * that a sequence of frames creates connections and later frames find them),
 * then mutated the ways captures from the wild are broken: bit flips,
 * truncation, wrong lengths, IHL < 5, IP total length beyond the frame or
 * below the header, TCP data offset beyond the segment, zero-length and
 * oversize frames, bogus IPv6 extension-header chains, VLAN stacks, ICMP
 * errors quoting garbage.
 */
import fc from 'fast-check';
import { IpAddr } from '../../src/wire/addr.js';
import { wr16 } from '../../src/wire/bytes.js';
import {
  ArpRepr,
  buildFrame,
  buildPacket,
  EthernetRepr,
  GreRepr,
  IcmpRepr,
  Icmpv6Repr,
  Ipv4Repr,
  Ipv6Repr,
  SctpRepr,
  TcpRepr,
  UdpRepr,
  type Ipv6ExtRepr,
  type LayerRepr,
  type VlanTag,
} from '../../src/wire/repr.js';
import { CLIENT_MAC, GW_MAC, RS4, RS6, RS_MACS, SERVER_MAC, VIP4, VIP6 } from './setups.js';
import type { InFrame } from './driver.js';

const A = (s: string): IpAddr => IpAddr.parse(s);

const CLIENTS4 = ['10.0.0.10', '10.0.0.11', '203.0.113.7', '198.51.100.9'].map(A);
const CLIENTS6 = ['2001:db8::10', '2001:db8::11', '2001:db8:ffff::7'].map(A);
const VIPS4 = [A(VIP4), A(VIP4), A(VIP4), A('10.0.0.1'), A('10.1.0.1'), A('192.0.2.33')];
const VIPS6 = [A(VIP6), A(VIP6), A('2001:db8::1'), A('2001:db8:77::1')];
const SERVERS4 = RS4.map(A);
const SERVERS6 = RS6.map(A);

const macArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant(CLIENT_MAC) },
  { weight: 2, arbitrary: fc.constant(SERVER_MAC) },
  { weight: 1, arbitrary: fc.constant(0xffffffffffff) },
  { weight: 1, arbitrary: fc.constant(0x333300000001) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffffffff }) },
);

const vlanArb: fc.Arbitrary<VlanTag[]> = fc.oneof(
  { weight: 10, arbitrary: fc.constant([] as VlanTag[]) },
  {
    weight: 3,
    arbitrary: fc.array(
      fc.record({
        tpid: fc.constantFrom(0x8100, 0x88a8),
        pcp: fc.integer({ min: 0, max: 7 }),
        dei: fc.integer({ min: 0, max: 1 }),
        vid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4095 })),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  },
);

const portArb = (svc: number[]): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...svc) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
  );
const cportArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(40000, 40001, 40002) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
);

const bytesArb = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

/** A transport header (and payload) for IP protocol choice; `v6` picks ICMPv6 over ICMP. */
function l4Arb(
  v6: boolean,
  quote: fc.Arbitrary<Uint8Array>,
): fc.Arbitrary<{ layers: LayerRepr[]; payload: Uint8Array }> {
  const tcp = fc
    .record({
      sport: cportArb,
      dport: portArb([80, 443, 8080]),
      flags: fc.oneof(
        fc.constantFrom(0x02, 0x10, 0x12, 0x11, 0x04, 0x18, 0x14),
        fc.integer({ min: 0, max: 0x1ff }),
      ),
      seq: fc.nat(),
      ack: fc.nat(),
      options: fc.oneof(
        fc.constant(new Uint8Array(0)),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 40, maxLength: 40 }),
      ),
      payload: bytesArb(64),
    })
    .map((t) => ({ layers: [new TcpRepr(t)] as LayerRepr[], payload: t.payload }));
  const udp = fc
    .record({ sport: cportArb, dport: portArb([53, 7000, 7999, 5353]), payload: bytesArb(64) })
    .map((u) => ({ layers: [new UdpRepr(u)] as LayerRepr[], payload: u.payload }));
  const sctp = fc
    .record({
      sport: cportArb,
      dport: portArb([5060]),
      vtag: fc.nat(),
      chunkType: fc.constantFrom(1, 2, 0, 3, 6, 7, 8, 10, 11, 14, 255),
      chunkLen: fc.oneof(fc.constant(20), fc.integer({ min: 0, max: 65535 })),
    })
    .map((s) => {
      const ch = new Uint8Array(20);
      ch[0] = s.chunkType;
      wr16(ch, 2, s.chunkLen);
      return {
        layers: [new SctpRepr({ sport: s.sport, dport: s.dport, vtag: s.vtag, chunks: ch })] as LayerRepr[],
        payload: new Uint8Array(0),
      };
    });
  const icmpErr = fc
    .record({
      type: fc.constantFrom(3, 11, 4, 12),
      code: fc.integer({ min: 0, max: 15 }),
      rest: fc.nat(),
      quote,
    })
    .map((i) => ({
      layers: [
        v6 ? new Icmpv6Repr({ type: [1, 2, 3, 4][i.type % 4], code: i.code, rest: i.rest }) : new IcmpRepr(i),
      ] as LayerRepr[],
      payload: i.quote,
    }));
  const echo = fc.record({ rest: fc.nat(), payload: bytesArb(32) }).map((e) => ({
    layers: [
      v6 ? new Icmpv6Repr({ type: 128, rest: e.rest }) : new IcmpRepr({ type: 8, rest: e.rest }),
    ] as LayerRepr[],
    payload: e.payload,
  }));
  const gre = fc
    .record({
      checksumPresent: fc.boolean(),
      protocol: fc.constantFrom(0x0800, 0x86dd, 0x6558, 0),
      payload: bytesArb(40),
    })
    .map((g) => ({
      layers: [new GreRepr({ checksumPresent: g.checksumPresent, protocol: g.protocol })] as LayerRepr[],
      payload: g.payload,
    }));
  return fc.oneof(
    { weight: 8, arbitrary: tcp },
    { weight: 4, arbitrary: udp },
    { weight: 2, arbitrary: sctp },
    { weight: 3, arbitrary: icmpErr },
    { weight: 1, arbitrary: echo },
    { weight: 1, arbitrary: gre },
  );
}

/** The bytes of an IP packet an ICMP error could quote: a real one toward/from a VIP, cut anywhere, or garbage. */
const quoteArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: bytesArb(80) },
  {
    weight: 5,
    arbitrary: fc
      .record({
        v6: fc.boolean(),
        fromVip: fc.boolean(),
        c: fc.nat(),
        s: fc.nat(),
        l4: l4Arb(false, fc.constant(new Uint8Array(0))),
        cut: fc.nat({ max: 100 }),
      })
      .map((q) => {
        const cli = (q.v6 ? CLIENTS6 : CLIENTS4)[q.c % (q.v6 ? CLIENTS6.length : CLIENTS4.length)];
        const vip = q.v6 ? A(VIP6) : A(VIP4);
        const rs = (q.v6 ? SERVERS6 : SERVERS4)[q.s % 2];
        const [src, dst] = q.fromVip ? [q.s % 3 === 0 ? rs : vip, cli] : [cli, vip];
        const ip = q.v6 ? new Ipv6Repr({ src, dst }) : new Ipv4Repr({ src, dst });
        const pkt = buildPacket([ip, ...q.l4.layers], q.l4.payload);
        return q.cut >= 50 ? pkt : pkt.slice(0, Math.max(0, pkt.length - q.cut));
      }),
  },
);

const extArb: fc.Arbitrary<Ipv6ExtRepr[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant([] as Ipv6ExtRepr[]) },
  {
    weight: 2,
    arbitrary: fc.array(
      fc.oneof(
        fc
          .record({
            type: fc.constantFrom(0, 43, 60, 51),
            n: fc.integer({ min: 0, max: 3 }),
            fill: fc.integer({ min: 0, max: 255 }),
          })
          .map(
            (e) =>
              ({
                type: e.type,
                data: new Uint8Array(e.type === 51 ? 2 + 4 * e.n + 4 : 6 + 8 * e.n).fill(e.fill),
              }) as Ipv6ExtRepr,
          ),
        fc
          .record({
            fragOffset: fc.integer({ min: 0, max: 8191 }).map((x) => x * 8),
            mf: fc.boolean(),
            ident: fc.nat(),
          })
          .map((f) => ({ type: 44, ...f }) as Ipv6ExtRepr),
      ),
      { minLength: 1, maxLength: 10 },
    ),
  },
);

const ipv4Arb = fc.record({
  fromServer: fc.boolean(),
  c: fc.nat(),
  d: fc.nat(),
  ttl: fc.oneof(fc.constantFrom(64, 1, 2, 0, 255), fc.integer({ min: 0, max: 255 })),
  tos: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 65535 }),
  df: fc.boolean(),
  frag: fc.oneof(
    { weight: 8, arbitrary: fc.constant({ mf: false, fragOffset: 0 }) },
    {
      weight: 1,
      arbitrary: fc.record({
        mf: fc.boolean(),
        fragOffset: fc.integer({ min: 0, max: 8191 }).map((x) => x * 8),
      }),
    },
  ),
  options: fc.oneof(
    { weight: 8, arbitrary: fc.constant(new Uint8Array(0)) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 10 })
        .chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
    },
    { weight: 1, arbitrary: fc.constant(new Uint8Array([1, 1, 1, 0])) },
  ),
  l4: l4Arb(false, quoteArb),
});

const ipv6Arb = fc.record({
  fromServer: fc.boolean(),
  c: fc.nat(),
  d: fc.nat(),
  hop: fc.oneof(fc.constantFrom(64, 1, 2, 0), fc.integer({ min: 0, max: 255 })),
  tc: fc.integer({ min: 0, max: 255 }),
  flow: fc.integer({ min: 0, max: 0xfffff }),
  ext: extArb,
  l4: l4Arb(true, quoteArb),
});

/** A plausible frame (before mutation) and the link it arrives on. */
export const baseFrameArb: fc.Arbitrary<{ bytes: Uint8Array; link: number }> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({ mac: macArb, vlans: vlanArb, ip: ipv4Arb }).map(({ mac, vlans, ip }) => {
      const src = ip.fromServer ? SERVERS4[ip.c % 2] : CLIENTS4[ip.c % CLIENTS4.length];
      const dst = ip.fromServer ? CLIENTS4[ip.d % CLIENTS4.length] : VIPS4[ip.d % VIPS4.length];
      const l3 = new Ipv4Repr({
        src,
        dst,
        ttl: ip.ttl,
        tos: ip.tos,
        id: ip.id,
        df: ip.df,
        ...ip.frag,
        options: ip.options,
      });
      const eth = new EthernetRepr({
        dst: ip.fromServer ? SERVER_MAC : mac,
        src: ip.fromServer ? RS_MACS[ip.c % 2] : GW_MAC,
        vlans,
      });
      return { bytes: buildFrame([eth, l3, ...ip.l4.layers], ip.l4.payload), link: ip.fromServer ? 1 : 0 };
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ mac: macArb, vlans: vlanArb, ip: ipv6Arb }).map(({ mac, vlans, ip }) => {
      const src = ip.fromServer ? SERVERS6[ip.c % 2] : CLIENTS6[ip.c % CLIENTS6.length];
      const dst = ip.fromServer ? CLIENTS6[ip.d % CLIENTS6.length] : VIPS6[ip.d % VIPS6.length];
      const l3 = new Ipv6Repr({
        src,
        dst,
        hopLimit: ip.hop,
        trafficClass: ip.tc,
        flowLabel: ip.flow,
        extHeaders: ip.ext,
      });
      const eth = new EthernetRepr({
        dst: ip.fromServer ? SERVER_MAC : mac,
        src: ip.fromServer ? RS_MACS[ip.c % 2] : GW_MAC,
        vlans,
      });
      return { bytes: buildFrame([eth, l3, ...ip.l4.layers], ip.l4.payload), link: ip.fromServer ? 1 : 0 };
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ mac: macArb, op: fc.integer({ min: 0, max: 3 }), t: fc.nat() })
      .map(({ mac, op, t }) => ({
        bytes: buildFrame([
          new EthernetRepr({ dst: mac, src: GW_MAC }),
          new ArpRepr({ op, sha: GW_MAC, spa: A('10.0.0.254'), tpa: VIPS4[t % VIPS4.length] }),
        ]),
        link: 0,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ mac: macArb, type: fc.integer({ min: 0, max: 65535 }), body: bytesArb(100) })
      .map(({ mac, type, body }) => {
        const b = new Uint8Array(14 + body.length);
        new EthernetRepr({ dst: mac, src: GW_MAC, etherType: type }).emit(b, 0);
        b.set(body, 14);
        return { bytes: b, link: 0 };
      }),
  },
  { weight: 1, arbitrary: bytesArb(120).map((bytes) => ({ bytes, link: 0 })) },
);

/** One way to break a frame; positions are taken modulo the frame length. */
export type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'byte'; pos: number; value: number }
  | { kind: 'cut'; keep: number }
  | { kind: 'capture-cut'; keep: number }
  | { kind: 'origlen'; delta: number }
  | { kind: 'ihl'; value: number }
  | { kind: 'total-length'; value: number }
  | { kind: 'tcp-offset'; value: number }
  | { kind: 'ipv6-payload-length'; value: number }
  | { kind: 'oversize'; len: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), keep: fc.nat({ max: 200 }) }),
  fc.record({ kind: fc.constant('capture-cut' as const), keep: fc.nat({ max: 200 }) }),
  fc.record({ kind: fc.constant('origlen' as const), delta: fc.integer({ min: -100, max: 70000 }) }),
  fc.record({ kind: fc.constant('ihl' as const), value: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('total-length' as const), value: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ kind: fc.constant('tcp-offset' as const), value: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('ipv6-payload-length' as const), value: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ kind: fc.constant('oversize' as const), len: fc.integer({ min: 1515, max: 262144 }) }),
);

/** Offset of the network header (after Ethernet and VLAN tags), or -1. */
function l3Offset(b: Uint8Array): number {
  if (b.length < 14) return -1;
  let p = 12;
  let t = (b[p] << 8) | b[p + 1];
  while ((t === 0x8100 || t === 0x88a8) && p + 6 <= b.length) {
    p += 4;
    t = (b[p] << 8) | b[p + 1];
  }
  return p + 2 <= b.length ? p + 2 : -1;
}

/** Applies mutations to a frame; returns the new bytes, captured length and wire length. */
export function mutate(base: Uint8Array, muts: readonly Mutation[]): InFrame {
  let b = base.slice();
  let capLen = b.length;
  let origLen = b.length;
  for (const m of muts) {
    const l3 = l3Offset(b);
    const v4 = l3 >= 0 && l3 < b.length && b[l3] >>> 4 === 4;
    const v6 = l3 >= 0 && l3 < b.length && b[l3] >>> 4 === 6;
    switch (m.kind) {
      case 'flip':
        if (b.length) b[m.pos % b.length] ^= 1 << m.bit;
        break;
      case 'byte':
        if (b.length) b[m.pos % b.length] = m.value;
        break;
      case 'cut':
        b = b.slice(0, Math.min(b.length, m.keep));
        capLen = b.length;
        origLen = b.length;
        break;
      case 'capture-cut':
        capLen = Math.min(capLen, m.keep);
        break;
      case 'origlen':
        origLen = Math.max(0, origLen + m.delta);
        break;
      case 'ihl':
        if (v4) b[l3] = 0x40 | m.value;
        break;
      case 'total-length':
        if (v4 && l3 + 4 <= b.length) wr16(b, l3 + 2, m.value);
        break;
      case 'tcp-offset':
        if (v4 && l3 + 20 <= b.length && b[l3 + 9] === 6) {
          const o = l3 + (b[l3] & 15) * 4 + 12;
          if (o < b.length) b[o] = (m.value << 4) | (b[o] & 15);
        } else if (v6 && l3 + 40 <= b.length && b[l3 + 6] === 6 && l3 + 52 < b.length) {
          b[l3 + 52] = (m.value << 4) | (b[l3 + 52] & 15);
        }
        break;
      case 'ipv6-payload-length':
        if (v6 && l3 + 6 <= b.length) wr16(b, l3 + 4, m.value);
        break;
      case 'oversize': {
        const n = new Uint8Array(m.len);
        n.set(b.subarray(0, Math.min(b.length, m.len)));
        b = n;
        capLen = n.length;
        origLen = n.length;
        break;
      }
    }
  }
  return { bytes: b, capLen: Math.min(capLen, b.length), origLen };
}

/** A frame after zero or more mutations (most frames keep a few intact to build connections). */
export const hostileFrameArb: fc.Arbitrary<InFrame & { mutations: Mutation[] }> = fc
  .record({
    base: baseFrameArb,
    mutations: fc.oneof(
      { weight: 5, arbitrary: fc.constant([] as Mutation[]) },
      { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) },
    ),
  })
  .map(({ base, mutations }) => ({ ...mutate(base.bytes, mutations), link: base.link, mutations }));
