import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { IpAddr } from '../../src/wire/addr.js';
import { rd16, wr16 } from '../../src/wire/bytes.js';
import { EtherType, MAX_FRAME_LEN } from '../../src/wire/ethernet.js';
import { IcmpType } from '../../src/wire/icmp.js';
import { IpProto } from '../../src/wire/ip.js';
import { IPV4_OPT_FLAG, Ipv4View } from '../../src/wire/ipv4.js';
import { MAX_IPV6_EXT_HEADERS } from '../../src/wire/ipv6.js';
import { PacketInfo, parseFrame, parseInner, parseIp, parseQuoted } from '../../src/wire/parse.js';
import { WIRE_REASON_COUNT, WIRE_REASON_NAMES, WireReason, wireReasonName } from '../../src/wire/reasons.js';
import {
  ArpRepr,
  GreRepr,
  IcmpRepr,
  Icmpv6Repr,
  SctpRepr,
  UdpRepr,
  buildPacket,
  type Ipv6ExtRepr,
} from '../../src/wire/repr.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { C4, eth, frame, ip4, ip6, syn, tcp4Frame } from './support/build.js';
import { FIXTURES } from './support/fixtures.js';
import { readPcap } from './support/pcap-lite.js';

const info = new PacketInfo();
const inner = new PacketInfo();

function parse(b: Uint8Array, capLen = b.length, origLen = b.length): number {
  return parseFrame(b, 0, capLen, origLen, info);
}
function fixIpCsum(b: Uint8Array, off = 14): Uint8Array {
  new Ipv4View().wrap(b, off).fillChecksum();
  return b;
}
const name = (r: number) => wireReasonName(r);

/** The invariants every successful decode satisfies. */
function expectInvariants(i: PacketInfo, off: number, capLen: number, origLen: number): void {
  if (i.af === 0) return;
  expect(i.l4Off).to.equal(i.l3Off + i.ipHdrLen);
  expect(i.l3End).to.equal(i.l3Off + i.ipTotalLen);
  expect(i.l3End).to.be.at.most(off + origLen);
  expect(i.capEnd).to.be.at.most(off + capLen);
  expect(i.capEnd).to.be.at.most(i.l3End);
  expect(i.l4Len).to.equal(i.ipTotalLen - i.ipHdrLen);
  expect(i.l4Len).to.be.at.least(0);
  expect(i.l4Cap).to.equal(Math.max(0, i.capEnd - i.l4Off));
  expect(i.l4Cap).to.be.at.most(i.l4Len);
  if (i.fragOff !== 0) expect([i.sport, i.dport, i.tcpFlags]).to.deep.equal([0, 0, 0]);
  if (i.l4Reason !== 0)
    expect([WireReason.TCP_BAD_DATA_OFFSET, WireReason.UDP_BAD_LENGTH]).to.include(i.l4Reason);
}

describe('wire/parse', () => {
  describe('reason table', () => {
    it('names every code once, in kebab-case matching its constant', () => {
      const keys = Object.keys(WireReason) as (keyof typeof WireReason)[];
      expect(keys.length).to.equal(WIRE_REASON_COUNT);
      for (const k of keys)
        expect(WIRE_REASON_NAMES[WireReason[k]]).to.equal(k.toLowerCase().replace(/_/g, '-'));
      expect(new Set(WIRE_REASON_NAMES).size).to.equal(WIRE_REASON_COUNT);
      expect(wireReasonName(999)).to.equal('unknown-999');
    });
  });

  describe('hand-made fixtures', () => {
    it('decodes a TCP/IPv4 SYN with options', () => {
      const b = FIXTURES.tcpSyn.bytes;
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({
        af: 4,
        etherType: EtherType.IPV4,
        l3Off: 14,
        ipHdrLen: 20,
        ipTotalLen: 60,
        l3End: 74,
      });
      expect(info).to.include({
        ttl: 64,
        tos: 0,
        ipId: 0x1234,
        df: 1,
        mf: 0,
        fragOff: 0,
        isFragment: 0,
        proto: IpProto.TCP,
      });
      expect(info).to.include({ l4Off: 34, l4Len: 40, l4Cap: 40, l4Reason: 0, sport: 46000, dport: 80 });
      expect(info).to.include({
        tcpFlags: TcpFlag.SYN,
        tcpHdrLen: 40,
        tcpSeq: 0x11223344,
        tcpAck: 0,
        tcpWindow: 64240,
      });
      expect(IpAddr.fromWords(4, info.saddr).toString()).to.equal('172.25.39.10');
      expect(IpAddr.fromWords(4, info.daddr).toString()).to.equal('172.25.40.100');
      expect([...info.saddr.subarray(1)]).to.deep.equal([0, 0, 0]);
    });

    it('decodes 802.1ad + 802.1Q tags (outer first)', () => {
      expect(name(parse(FIXTURES.qinqUdp.bytes))).to.equal('ok');
      expect(info).to.include({ vlanCount: 2, vlanTpid0: 0x88a8, vlanTci0: 100, vlanTpid1: 0x8100 });
      expect(info.vlanTci1).to.equal((5 << 13) | 200);
      expect(info).to.include({
        l3Off: 22,
        proto: IpProto.UDP,
        sport: 53000,
        dport: 7777,
        udpLen: 20,
        df: 0,
        ipId: 0x4242,
      });
    });

    it('decodes IPv4 options and an ICMP echo', () => {
      expect(name(parse(FIXTURES.ipv4OptsIcmp.bytes))).to.equal('ok');
      expect(info).to.include({ ipHdrLen: 32, ipOptFlags: IPV4_OPT_FLAG.RR, proto: IpProto.ICMP });
      expect(info).to.include({
        icmpType: IcmpType.ECHO,
        icmpCode: 0,
        icmpId: 0x77,
        icmpIsError: 0,
        sport: 0,
      });
    });

    it('walks an IPv6 extension chain up to a first fragment and decodes its UDP header', () => {
      expect(name(parse(FIXTURES.ipv6ExtChain.bytes))).to.equal('ok');
      expect(info).to.include({ af: 6, tos: 0xb8, flowLabel: 0x12345, ttl: 64, extCount: 4, ipHdrLen: 88 });
      expect(info).to.include({ fragHdrOff: 14 + 80, fragOff: 0, mf: 1, isFragment: 1, ipId: 0xcafe0001 });
      // the UDP length covers both fragments: no soft reason for a fragment
      expect(info).to.include({
        proto: IpProto.UDP,
        sport: 40000,
        dport: 7777,
        udpLen: 48,
        l4Reason: 0,
        l4Len: 32,
      });
      expect(IpAddr.fromWords(6, info.daddr).toString()).to.equal('2001:db8:40::100');
    });

    it('stops at a non-first IPv6 fragment: protocol known, no ports', () => {
      expect(name(parse(FIXTURES.ipv6Frag2.bytes))).to.equal('ok');
      expect(info).to.include({ fragOff: 32, mf: 0, isFragment: 1, proto: IpProto.UDP, sport: 0, dport: 0 });
      expect(info).to.include({ ipHdrLen: 48, l4Off: 14 + 48, l4Len: 16, l4Cap: 16 });
    });

    it('decodes ARP', () => {
      expect(name(parse(FIXTURES.arpRequest.bytes))).to.equal('ok');
      expect(info).to.include({
        af: 0,
        etherType: EtherType.ARP,
        arpOp: 1,
        arpSha: 0x525400004001,
        arpTha: 0,
      });
      expect(info.arpSpa).to.equal(IpAddr.parse('172.25.40.1').w0);
      expect(info.arpTpa).to.equal(IpAddr.parse('172.25.40.2').w0);
    });

    it('decodes an ICMP error and the IPv4/UDP datagram it quotes', () => {
      const b = FIXTURES.icmpUnreach.bytes;
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ icmpType: 3, icmpCode: 3, icmpIsError: 1, tos: 0xc0 });
      const q = new PacketInfo();
      expect(name(parseQuoted(b, info.l4Off + 8, info.capEnd, q))).to.equal('ok');
      expect(q).to.include({
        af: 4,
        proto: IpProto.UDP,
        sport: 45000,
        dport: 54,
        udpLen: 16,
        ttl: 63,
        ipId: 7,
      });
      expect(q.saddr[0]).to.equal(C4.w0);
    });

    it('decodes an ICMPv6 packet-too-big quoting a longer packet than it carries', () => {
      const b = FIXTURES.icmpv6TooBig.bytes;
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ af: 6, proto: IpProto.ICMPV6, icmpType: 2, icmpIsError: 1 });
      const q = new PacketInfo();
      expect(name(parseQuoted(b, info.l4Off + 8, info.capEnd, q))).to.equal('ok');
      expect(q).to.include({
        af: 6,
        proto: IpProto.TCP,
        sport: 46000,
        dport: 80,
        tcpSeq: 1,
        ipTotalLen: 1480,
        l4Len: 1440,
      });
      expect(q.l4Cap).to.equal(20);
    });

    const tunnels: [string, number, number, Partial<PacketInfo>][] = [
      ['ipip', IpProto.IPIP, 0, { af: 4, sport: 46001, ttl: 63, ipId: 0x42 }],
      ['ip6ip6', IpProto.IPV6, 0, { af: 6, sport: 46002, tos: 0x10, flowLabel: 0xabcde }],
      ['greCsum', IpProto.GRE, 0, { af: 4, sport: 46003 }],
      ['greKeySeq', IpProto.GRE, 0, { af: 6, proto: IpProto.UDP, sport: 40001, dport: 7777 }],
      ['gue', IpProto.UDP, 6080, { af: 4, sport: 46004, ipId: 0x44 }],
    ];
    for (const [fx, proto, port, want] of tunnels) {
      it(`steps into the inner packet of ${fx}`, () => {
        const b = FIXTURES[fx].bytes;
        expect(name(parse(b))).to.equal('ok');
        expect(info.proto).to.equal(proto);
        expect(name(parseInner(b, info, inner, port))).to.equal('ok');
        expect(inner).to.include(want);
        expect(inner.l3Off).to.be.greaterThan(info.l3Off);
        expect(inner.l3End).to.equal(info.l3End);
      });
    }

    it('reads GUE only on the given port', () => {
      const b = FIXTURES.gue.bytes;
      parse(b);
      expect(name(parseInner(b, info, inner, 0))).to.equal('not-a-tunnel');
      expect(name(parseInner(b, info, inner, 6081))).to.equal('not-a-tunnel');
    });

    it('decodes SCTP: ports, verification tag, first chunk type', () => {
      expect(name(parse(FIXTURES.sctpInit.bytes))).to.equal('ok');
      expect(info).to.include({
        proto: IpProto.SCTP,
        sport: 5000,
        dport: 5001,
        sctpVtag: 0,
        sctpChunkType: 1,
      });
    });

    it('ignores Ethernet padding after the IP packet', () => {
      const b = FIXTURES.tcpPadded.bytes;
      expect(b.length).to.equal(60);
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ ipTotalLen: 42, l3End: 56, capEnd: 56, l4Len: 22, l4Cap: 22 });
      expect(info.tcpFlags).to.equal(TcpFlag.PSH | TcpFlag.ACK);
    });

    it('returns OK with af 0 for an EtherType it does not decode', () => {
      const b = tcp4Frame();
      wr16(b, 12, 0x88cc);
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ af: 0, etherType: 0x88cc, l3Off: 14 });
    });

    it('decodes a reassembled packet at any offset with parseIp', () => {
      const pkt = buildPacket([ip6(), syn()]);
      const buf = new Uint8Array(pkt.length + 7);
      buf.set(pkt, 7);
      expect(name(parseIp(buf, 7, buf.length, buf.length, info))).to.equal('ok');
      expect(info).to.include({ af: 6, l3Off: 7, sport: 46000, capLen: pkt.length, origLen: pkt.length });
      const pkt4 = buildPacket([ip4(), syn()]);
      expect(name(parseIp(pkt4, 0, pkt4.length, pkt4.length, info))).to.equal('ok');
      expect(info.af).to.equal(4);
    });
  });

  describe('capture truncation vs wire lengths', () => {
    it('accepts a frame cut by the snaplen after the TCP header (payload not captured)', () => {
      const b = frame([eth(), ip4(), syn({ flags: TcpFlag.ACK })], new Uint8Array(1460));
      expect(b.length).to.equal(1514);
      expect(name(parseFrame(b, 0, 54, 1514, info))).to.equal('ok');
      expect(info).to.include({ ipTotalLen: 1500, l4Len: 1480, l4Cap: 20, capEnd: 54, l3End: 1514 });
    });

    it('reports only *-not-captured reasons when the wire length is whole, at every cut', () => {
      for (const fx of Object.values(FIXTURES)) {
        const b = fx.bytes;
        for (let k = 0; k <= b.length; k++) {
          const r = parse(b, k, b.length);
          if (r !== 0) expect(name(r), `${fx.name} cut at ${k}`).to.match(/-not-captured$/);
          else expectInvariants(info, 0, k, b.length);
        }
      }
    });

    it('never reports *-not-captured when the capture is whole, at every wire length', () => {
      for (const fx of Object.values(FIXTURES)) {
        for (let k = 0; k <= fx.bytes.length; k++) {
          const b = fx.bytes.slice(0, k);
          const r = parse(b);
          expect(name(r), `${fx.name} length ${k}`).to.not.match(/-not-captured$/);
          if (r === 0) expectInvariants(info, 0, k, k);
        }
      }
    });
  });

  describe('one case per drop reason', () => {
    const v4 = () => tcp4Frame();
    const v6 = () => frame([eth(), ip6(), syn()]);
    const withExt = (
      ext: Ipv6ExtRepr[],
      l4: ConstructorParameters<typeof UdpRepr>[0] = { sport: 1, dport: 2 },
    ) => frame([eth(), ip6({ extHeaders: ext }), new UdpRepr(l4)]);
    const dst8: Ipv6ExtRepr = { type: IpProto.DSTOPTS, data: new Uint8Array([1, 4, 0, 0, 0, 0]) };
    const gueFrame = (payload: Uint8Array) =>
      frame([eth(), ip4(), new UdpRepr({ sport: 9, dport: 6080 })], payload);
    const outerThenInner = (b: Uint8Array, port = 6080, capLen = b.length) => {
      const r = parseFrame(b, 0, capLen, b.length, info);
      return r !== 0 ? r : parseInner(b, info, inner, port);
    };
    const l4Reason = (b: Uint8Array) => {
      const r = parse(b);
      expect(r).to.equal(0);
      return info.l4Reason;
    };
    const quote = (pkt: Uint8Array, n: number) => parseQuoted(pkt, 0, n, info);

    const cases: [number, string, () => number][] = [
      [WireReason.FRAME_BEYOND_BUFFER, 'capLen past the buffer', () => parse(v4(), 55, 55)],
      [WireReason.FRAME_CAPLEN_EXCEEDS_LEN, 'capLen > origLen', () => parse(v4(), 54, 53)],
      [WireReason.FRAME_OVERSIZE, 'origLen over the maximum', () => parse(v4(), 54, MAX_FRAME_LEN + 1)],
      [WireReason.ETH_TRUNCATED, '13-byte frame', () => parse(v4().slice(0, 13))],
      [WireReason.ETH_HEADER_NOT_CAPTURED, 'capture of 10 bytes', () => parse(v4(), 10, 54)],
      [
        WireReason.VLAN_TRUNCATED,
        'tag without the type after it',
        () => parse(frame([eth([{ tpid: 0x8100, pcp: 0, dei: 0, vid: 5 }]), ip4(), syn()]).slice(0, 17)),
      ],
      [
        WireReason.VLAN_HEADER_NOT_CAPTURED,
        'tag cut by the capture',
        () => parse(frame([eth([{ tpid: 0x8100, pcp: 0, dei: 0, vid: 5 }]), ip4(), syn()]), 16, 58),
      ],
      [
        WireReason.VLAN_TOO_MANY_TAGS,
        'three tags',
        () =>
          parse(
            frame([
              eth([0x88a8, 0x8100, 0x8100].map((tpid) => ({ tpid, pcp: 0, dei: 0, vid: 1 }))),
              ip4(),
              syn(),
            ]),
          ),
      ],
      [
        WireReason.ARP_TRUNCATED,
        '27 bytes of ARP',
        () => parse(frame([eth(), new ArpRepr({})]).slice(0, 41)),
      ],
      [
        WireReason.ARP_HEADER_NOT_CAPTURED,
        'ARP cut by the capture',
        () => parse(frame([eth(), new ArpRepr({})]), 30, 42),
      ],
      [
        WireReason.ARP_BAD_FORMAT,
        'hardware length 8',
        () => {
          const b = frame([eth(), new ArpRepr({})]);
          b[14 + 4] = 8;
          return parse(b);
        },
      ],
      [WireReason.IPV4_TRUNCATED, '19 bytes of IPv4', () => parse(v4().slice(0, 33))],
      [
        WireReason.IPV4_TRUNCATED,
        'IHL beyond the frame',
        () => {
          const b = v4().slice(0, 40);
          b[14] = 0x4f;
          return parse(b);
        },
      ],
      [WireReason.IPV4_HEADER_NOT_CAPTURED, 'IPv4 header cut by the capture', () => parse(v4(), 33, 54)],
      [
        WireReason.IPV4_BAD_VERSION,
        'version 6 under EtherType 0x0800',
        () => {
          const b = v4();
          b[14] = 0x65;
          return parse(b);
        },
      ],
      [
        WireReason.IPV4_BAD_IHL,
        'IHL 4',
        () => {
          const b = v4();
          b[14] = 0x44;
          return parse(b);
        },
      ],
      [
        WireReason.IPV4_BAD_CHECKSUM,
        'one flipped checksum bit',
        () => {
          const b = v4();
          b[25] ^= 1;
          return parse(b);
        },
      ],
      [
        WireReason.IPV4_TOTAL_LENGTH_BEYOND_FRAME,
        'total length 1000',
        () => parse(frame([eth(), ip4({ totalLen: 1000 }), syn()])),
      ],
      [
        WireReason.IPV4_TOTAL_LENGTH_BELOW_HEADER,
        'total length 19',
        () => parse(frame([eth(), ip4({ totalLen: 19 }), syn()])),
      ],
      [
        WireReason.IPV4_BAD_OPTIONS,
        'option length 1',
        () => parse(frame([eth(), ip4({ options: new Uint8Array([7, 1, 0, 0]) }), syn()])),
      ],
      [WireReason.IPV6_TRUNCATED, '39 bytes of IPv6', () => parse(v6().slice(0, 53))],
      [WireReason.IPV6_HEADER_NOT_CAPTURED, 'IPv6 header cut by the capture', () => parse(v6(), 53, 74)],
      [
        WireReason.IPV6_BAD_VERSION,
        'version 4 under EtherType 0x86dd',
        () => {
          const b = v6();
          b[14] = 0x40;
          return parse(b);
        },
      ],
      [
        WireReason.IPV6_PAYLOAD_BEYOND_FRAME,
        'payload length 100 over 20 bytes',
        () => parse(frame([eth(), ip6({ payloadLen: 100 }), syn()])),
      ],
      [
        WireReason.IPV6_JUMBOGRAM,
        'payload length 0 with hop-by-hop',
        () =>
          parse(
            frame([
              eth(),
              ip6({ payloadLen: 0, extHeaders: [{ type: IpProto.HOPOPTS, data: new Uint8Array(6) }] }),
              syn(),
            ]),
          ),
      ],
      [
        WireReason.IPV6_BAD_HOP_BY_HOP_OPTIONS,
        'unknown option with "discard" action bits',
        () => parse(withExt([{ type: IpProto.HOPOPTS, data: new Uint8Array([0x40, 4, 0, 0, 0, 0]) }])),
      ],
      [
        WireReason.IPV6_BAD_EXTENSION_CHAIN,
        'destination options longer than the payload',
        () => {
          const b = withExt([dst8]);
          b[14 + 40 + 1] = 9;
          return parse(b);
        },
      ],
      [
        WireReason.IPV6_EXTENSION_HEADER_NOT_CAPTURED,
        'extension header cut by the capture',
        () => parse(withExt([dst8]), 14 + 44, 14 + 56),
      ],
      [
        WireReason.IPV6_TOO_MANY_EXTENSION_HEADERS,
        `${MAX_IPV6_EXT_HEADERS + 1} destination options headers`,
        () => parse(withExt(new Array(MAX_IPV6_EXT_HEADERS + 1).fill(dst8))),
      ],
      [
        WireReason.TCP_TRUNCATED,
        '10 bytes of TCP',
        () => parse(frame([eth(), ip4({ totalLen: 30 }), syn()])),
      ],
      [WireReason.TCP_HEADER_NOT_CAPTURED, 'TCP header cut by the capture', () => parse(v4(), 44, 54)],
      [
        WireReason.TCP_BAD_DATA_OFFSET,
        'data offset 15 (soft)',
        () => l4Reason(frame([eth(), ip4(), syn({ dataOffset: 15 })])),
      ],
      [
        WireReason.TCP_BAD_DATA_OFFSET,
        'data offset 4 (soft)',
        () => l4Reason(frame([eth(), ip4(), syn({ dataOffset: 4 })])),
      ],
      [
        WireReason.UDP_TRUNCATED,
        '6 bytes of UDP',
        () => parse(frame([eth(), ip4({ totalLen: 26 }), new UdpRepr({ sport: 1, dport: 2 })])),
      ],
      [
        WireReason.UDP_HEADER_NOT_CAPTURED,
        'UDP header cut by the capture',
        () => parse(frame([eth(), ip4(), new UdpRepr({ sport: 1, dport: 2 })]), 38, 42),
      ],
      [
        WireReason.UDP_BAD_LENGTH,
        'UDP length 4 (soft)',
        () => l4Reason(frame([eth(), ip4(), new UdpRepr({ sport: 1, dport: 2, length: 4 })])),
      ],
      [
        WireReason.UDP_BAD_LENGTH,
        'UDP length beyond the IP payload (soft)',
        () => l4Reason(frame([eth(), ip4(), new UdpRepr({ sport: 1, dport: 2, length: 9 })])),
      ],
      [
        WireReason.ICMP_TRUNCATED,
        '4 bytes of ICMP',
        () => parse(frame([eth(), ip4({ totalLen: 24 }), IcmpRepr.echo(8, 1, 1)])),
      ],
      [
        WireReason.ICMP_HEADER_NOT_CAPTURED,
        'ICMP cut by the capture',
        () => parse(frame([eth(), ip4(), IcmpRepr.echo(8, 1, 1)]), 40, 42),
      ],
      [
        WireReason.ICMPV6_TRUNCATED,
        '4 bytes of ICMPv6',
        () => parse(frame([eth(), ip6({ payloadLen: 4 }), Icmpv6Repr.echo(128, 1, 1)])),
      ],
      [
        WireReason.ICMPV6_HEADER_NOT_CAPTURED,
        'ICMPv6 cut by the capture',
        () => parse(frame([eth(), ip6(), Icmpv6Repr.echo(128, 1, 1)]), 60, 62),
      ],
      [
        WireReason.SCTP_TRUNCATED,
        '12 bytes of SCTP',
        () => parse(frame([eth(), ip4(), new SctpRepr({ sport: 1, dport: 2 })])),
      ],
      [
        WireReason.SCTP_HEADER_NOT_CAPTURED,
        'SCTP chunk header cut by the capture',
        () =>
          parse(
            frame([eth(), ip4(), new SctpRepr({ sport: 1, dport: 2, chunks: new Uint8Array([1, 0, 0, 4]) })]),
            48,
            50,
          ),
      ],
      [
        WireReason.L4_HEADER_NOT_CAPTURED,
        'quoted TCP with 4 bytes',
        () => quote(buildPacket([ip4(), syn()]), 24),
      ],
      [WireReason.GUE_TRUNCATED, '1 byte of GUE', () => outerThenInner(gueFrame(new Uint8Array([0])))],
      [
        WireReason.GUE_TRUNCATED,
        'GUE extension fields beyond the datagram',
        () => outerThenInner(gueFrame(new Uint8Array([0x01, 4, 0, 0]))),
      ],
      [
        WireReason.GUE_HEADER_NOT_CAPTURED,
        'GUE cut by the capture',
        () => outerThenInner(gueFrame(new Uint8Array([0, 4, 0, 0, 0x45])), 6080, 44),
      ],
      [
        WireReason.GUE_BAD_VERSION,
        'GUE version 2',
        () => outerThenInner(gueFrame(new Uint8Array([0x80, 4, 0, 0]))),
      ],
      [
        WireReason.GRE_TRUNCATED,
        '2 bytes of GRE',
        () => outerThenInner(frame([eth(), ip4({ proto: IpProto.GRE })], new Uint8Array([0, 0]))),
      ],
      [
        WireReason.GRE_HEADER_NOT_CAPTURED,
        'GRE checksum cut by the capture',
        () =>
          outerThenInner(frame([eth(), ip4(), new GreRepr({ checksumPresent: true }), ip4(), syn()]), 0, 40),
      ],
      [
        WireReason.GRE_BAD_FLAGS,
        'GRE routing bit',
        () => outerThenInner(frame([eth(), ip4(), new GreRepr({ extraFlags: 0x4000 }), ip4(), syn()])),
      ],
      [
        WireReason.GRE_BAD_FLAGS,
        'GRE version 1',
        () => outerThenInner(frame([eth(), ip4(), new GreRepr({ extraFlags: 1 }), ip4(), syn()])),
      ],
      [
        WireReason.TUNNEL_INNER_NOT_IP,
        'GRE carrying ARP',
        () =>
          outerThenInner(frame([eth(), ip4(), new GreRepr({ protocol: EtherType.ARP }), new ArpRepr({})])),
      ],
      [
        WireReason.TUNNEL_INNER_NOT_IP,
        'GUE control message',
        () => outerThenInner(gueFrame(new Uint8Array([0x20, 0, 0, 0]))),
      ],
      [WireReason.NOT_A_TUNNEL, 'plain TCP', () => outerThenInner(v4())],
    ];

    for (const [reason, what, run] of cases) {
      it(`${name(reason)}: ${what}`, () => {
        expect(name(run())).to.equal(name(reason));
      });
    }

    it('reaches every reason code', () => {
      const reached = new Set(cases.map((c) => c[0]));
      const missing = WIRE_REASON_NAMES.filter((_, code) => code !== 0 && !reached.has(code));
      expect(missing).to.deep.equal([]);
    });

    it('fills the layers decoded before the failing one', () => {
      const b = tcp4Frame();
      expect(name(parse(b, 44, 54))).to.equal('tcp-header-not-captured');
      expect(info).to.include({ af: 4, proto: IpProto.TCP, l4Off: 34, l4Cap: 10, sport: 0 });
    });

    it('resets every field between packets', () => {
      parse(FIXTURES.qinqUdp.bytes);
      parse(FIXTURES.arpRequest.bytes);
      expect(info).to.include({
        vlanCount: 0,
        vlanTci0: 0,
        af: 0,
        sport: 0,
        proto: 0,
        fragHdrOff: -1,
        udpLen: 0,
      });
      expect([...info.saddr]).to.deep.equal([0, 0, 0, 0]);
    });

    it('accepts an IPv6 atomic fragment as not a fragment, with its identification', () => {
      const b = withExt([{ type: IpProto.FRAGMENT, fragOffset: 0, mf: false, ident: 77 }]);
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ isFragment: 0, ipId: 77, fragHdrOff: 54, sport: 1, dport: 2 });
    });

    it('decodes a first IPv4 fragment whose TCP header is split, without a reason', () => {
      const b = frame([eth(), ip4({ mf: true, totalLen: 30 }), syn()]);
      expect(name(parse(b))).to.equal('ok');
      expect(info).to.include({ isFragment: 1, mf: 1, sport: 0, l4Reason: 0 });
    });

    it('reports source route, timestamp and router alert options in ipOptFlags', () => {
      const opts = new Uint8Array([0x83, 7, 4, 1, 2, 3, 4, 0x44, 8, 5, 0, 0, 0, 0, 0, 0x94, 4, 0, 0, 0]);
      expect(name(parse(frame([eth(), ip4({ options: opts }), syn()])))).to.equal('ok');
      expect(info.ipOptFlags).to.equal(IPV4_OPT_FLAG.SRR | IPV4_OPT_FLAG.TS | IPV4_OPT_FLAG.RA);
    });

    const badOptions: [string, number[]][] = [
      ['two source routes', [0x83, 3, 4, 0x89, 3, 4, 0, 0]],
      ['record route pointer 3', [7, 7, 3, 0, 0, 0, 0, 0]],
      ['record route slot not fitting', [7, 6, 4, 0, 0, 0, 0, 0]],
      ['timestamp length 3', [0x44, 3, 5, 0]],
      ['timestamp full with overflow 15', [0x44, 4, 5, 0xf0]],
      ['timestamp with addresses, slot not fitting', [0x44, 8, 5, 1, 0, 0, 0, 0]],
      ['router alert length 2', [0x94, 2, 0, 0]],
      ['CIPSO (no DOI configured)', [0x86, 6, 0, 0, 0, 1, 0, 0]],
      ['option running past the header', [0x82, 9, 0, 0]],
    ];
    for (const [what, opt] of badOptions) {
      it(`ipv4-bad-options: ${what}`, () => {
        expect(name(parse(frame([eth(), ip4({ options: new Uint8Array(opt) }), syn()])))).to.equal(
          'ipv4-bad-options',
        );
      });
    }

    const badHop: [string, number[]][] = [
      ['8 bytes of padding', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]],
      ['PadN with non-zero content', [1, 4, 0, 1, 0, 0]],
      ['router alert with 4 data bytes', [5, 4, 0, 0, 0, 0]],
      ['a jumbo payload option with a payload length', [0xc2, 4, 0, 1, 0, 0]],
      ['an option running past the header', [0x1e, 9, 0, 0, 0, 0]],
      [
        'nine options (limit 8)',
        [
          0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 1, 0, 0, 0, 0, 0,
          0, 0, 0, 0, 0, 0,
        ],
      ],
    ];
    for (const [what, data] of badHop) {
      it(`ipv6-bad-hop-by-hop-options: ${what}`, () => {
        const b = withExt([{ type: IpProto.HOPOPTS, data: new Uint8Array(data) }]);
        expect(name(parse(b))).to.equal('ipv6-bad-hop-by-hop-options');
      });
    }

    it('accepts hop-by-hop router alert, padding and unknown skippable options', () => {
      const b = withExt([
        { type: IpProto.HOPOPTS, data: new Uint8Array([5, 2, 0, 0, 0x1e, 0, 1, 0]).subarray(0, 6) },
      ]);
      expect(name(parse(b))).to.equal('ok');
      expect(info.extCount).to.equal(1);
    });

    it('checks hop-by-hop options only in the first position', () => {
      const bad: Ipv6ExtRepr = { type: IpProto.HOPOPTS, data: new Uint8Array([0x40, 4, 0, 0, 0, 0]) };
      expect(name(parse(withExt([dst8, bad])))).to.equal('ok');
    });
  });

  describe('properties: never throws, terminates, returns a named reason', () => {
    const fixtures = Object.values(FIXTURES).map((f) => f.bytes);
    const valid = (r: number) => Number.isInteger(r) && r >= 0 && r < WIRE_REASON_COUNT;

    it('on random bytes with random capture/original lengths', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(300), fc.nat(300), (b, c, o) => {
          const capLen = Math.min(c, b.length);
          const r = parseFrame(b, 0, capLen, Math.max(capLen, o), info);
          expect(valid(r)).to.equal(true);
          if (r === 0) expectInvariants(info, 0, capLen, Math.max(capLen, o));
        }),
        { numRuns: 3000 },
      );
    });

    it('on fixtures with random bit flips', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...fixtures),
          fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
          (fx, flips) => {
            const b = fx.slice();
            for (const f of flips) b[(f >>> 3) % b.length] ^= 1 << (f & 7);
            const r = parse(b);
            expect(valid(r)).to.equal(true);
            if (r === 0) expectInvariants(info, 0, b.length, b.length);
            if (r === 0 && info.proto === IpProto.IPIP)
              expect(valid(parseInner(b, info, inner, 6080))).to.equal(true);
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('on fixtures with random bytes written over their headers, and checksums fixed', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...fixtures),
          fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
          (fx, writes) => {
            const b = fx.slice();
            for (const [o, v] of writes) if (o < b.length) b[o] = v;
            if (rd16(b, 12) === EtherType.IPV4 && b.length > 34 && b[14] >>> 4 === 4 && (b[14] & 15) >= 5)
              fixIpCsum(b);
            for (const port of [0, 6080]) {
              const r = parse(b);
              expect(valid(r)).to.equal(true);
              if (r === 0) {
                expectInvariants(info, 0, b.length, b.length);
                const t = parseInner(b, info, inner, port);
                expect(valid(t)).to.equal(true);
                if (t === 0) expectInvariants(inner, inner.l3Off, inner.capLen, inner.origLen);
                if (info.icmpIsError)
                  expect(valid(parseQuoted(b, info.l4Off + 8, info.capEnd, inner))).to.equal(true);
              }
            }
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('on wrong length fields: IHL, total length, payload length, data offset, UDP length', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 15 }),
          fc.nat(0xffff),
          fc.integer({ min: 0, max: 15 }),
          fc.nat(0xffff),
          (ihl, total, doff, ulen) => {
            const t = tcp4Frame();
            t[14] = 0x40 | ihl;
            wr16(t, 16, total);
            t[14 + 20 + 12] = doff << 4;
            if (ihl >= 5) fixIpCsum(t);
            const r = parse(t);
            if (ihl < 5) expect(name(r)).to.equal('ipv4-bad-ihl');
            else if (ihl * 4 > 40) expect(name(r)).to.equal('ipv4-truncated');
            else if (total > 40) expect(name(r)).to.equal('ipv4-total-length-beyond-frame');
            else if (total < ihl * 4) expect(name(r)).to.equal('ipv4-total-length-below-header');
            else expect(valid(r)).to.equal(true);

            const u = frame(
              [eth(), ip6(), new UdpRepr({ sport: 1, dport: 2, length: ulen })],
              new Uint8Array(12),
            );
            wr16(u, 18, total);
            const ru = parse(u);
            if (total > 20) expect(name(ru)).to.equal('ipv6-payload-beyond-frame');
            else if (total < 8) expect(name(ru)).to.equal('udp-truncated');
            else {
              expect(ru).to.equal(0);
              expect(info.l4Reason).to.equal(ulen < 8 || ulen > total ? WireReason.UDP_BAD_LENGTH : 0);
            }
          },
        ),
        { numRuns: 2000 },
      );
    });

    it('on VLAN stacks of 0..4 tags', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              tpid: fc.constantFrom(0x8100, 0x88a8),
              pcp: fc.nat(7),
              dei: fc.nat(1),
              vid: fc.nat(4095),
            }),
            { maxLength: 4 },
          ),
          (tags) => {
            const b = frame([eth(tags), ip4(), syn()]);
            const r = parse(b);
            if (tags.length > 2) expect(name(r)).to.equal('vlan-too-many-tags');
            else {
              expect(r).to.equal(0);
              expect(info).to.include({ vlanCount: tags.length, sport: 46000, l3Off: 14 + 4 * tags.length });
              if (tags.length)
                expect(info.vlanTci0).to.equal((tags[0].pcp << 13) | (tags[0].dei << 12) | tags[0].vid);
            }
          },
        ),
      );
    });

    it('on bogus IPv6 extension-header chains', () => {
      const extType = fc.constantFrom(0, 43, 44, 51, 60, 59, 6, 17, 58, 4, 41);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(extType, fc.nat(255), fc.uint8Array({ minLength: 6, maxLength: 30 })), {
            maxLength: 24,
          }),
          extType,
          fc.nat(3),
          (chain, first, cut) => {
            const parts: number[] = [];
            for (const [next, len, body] of chain) parts.push(next, len, ...body);
            const hdr = buildPacket([ip6({ nextHeader: first })], new Uint8Array(parts));
            const b = new Uint8Array(14 + hdr.length);
            wr16(b, 12, EtherType.IPV6);
            b.set(hdr, 14);
            const r = parse(b, Math.max(0, b.length - cut), b.length);
            expect(valid(r)).to.equal(true);
            if (r === 0) expectInvariants(info, 0, b.length - cut, b.length);
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('on ICMP errors quoting garbage', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 80 }),
          fc.constantFrom(0x45, 0x46, 0x60, 0x44, 0x4f, 0),
          (garbage, first) => {
            if (garbage.length) garbage[0] = first;
            const b = frame([eth(), ip4(), new IcmpRepr({ type: 3, code: 3 })], garbage);
            expect(parse(b)).to.equal(0);
            expect(info.icmpIsError).to.equal(1);
            const q = new PacketInfo();
            const r = parseQuoted(b, info.l4Off + 8, info.capEnd, q);
            expect(valid(r)).to.equal(true);
            if (r === 0) expect(q.af === 4 || q.af === 6).to.equal(true);
            expect(valid(parseQuoted(b, 50, 40, q))).to.equal(true);
          },
        ),
        { numRuns: 3000 },
      );
    });
  });

  describe('the oracle captures (real kernel frames)', () => {
    it('decodes every frame; only the injected bad IPv4 checksum is refused', () => {
      const root = path.join('test', 'oracle', 'scenarios');
      const refused: string[] = [];
      let frames = 0;
      let tunnels = 0;
      let quoted = 0;
      for (const sc of readdirSync(root)) {
        const files = [
          ...readdirSync(path.join(root, sc)).map((f) => path.join(sc, f)),
          ...readdirSync(path.join(root, sc, 'expected')).map((f) => path.join(sc, 'expected', f)),
        ].filter((f) => f.endsWith('.pcap'));
        for (const f of files) {
          for (const fr of readPcap(path.join(root, f))) {
            frames++;
            const r = parseFrame(fr.data, 0, fr.capLen, fr.origLen, info);
            if (r !== 0) {
              refused.push(`${f}#${fr.index}:${name(r)}`);
              continue;
            }
            expectInvariants(info, 0, fr.capLen, fr.origLen);
            expect(info.l4Reason, `${f}#${fr.index}`).to.equal(0);
            let t = parseInner(fr.data, info, inner, 6080);
            if (t === WireReason.NOT_A_TUNNEL) t = parseInner(fr.data, info, inner, 6081);
            if (t !== WireReason.NOT_A_TUNNEL) {
              expect(name(t), `${f}#${fr.index}`).to.equal('ok');
              tunnels++;
            }
            if (info.icmpIsError) {
              expect(name(parseQuoted(fr.data, info.l4Off + 8, info.capEnd, inner))).to.equal('ok');
              quoted++;
            }
          }
        }
      }
      expect(refused).to.deep.equal(['edge-nat/client.pcap#12:ipv4-bad-checksum']);
      expect(frames).to.be.greaterThan(5000);
      expect(tunnels).to.be.greaterThan(200);
      expect(quoted).to.be.greaterThan(30);
    });
  });
});
