import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { IpAddr } from '../../src/wire/addr.js';
import { bytesToHex, rd16 } from '../../src/wire/bytes.js';
import {
  l4ChecksumOk4,
  l4ChecksumOk6Words,
  ipv4HeaderChecksumOk,
  sctpChecksum,
} from '../../src/wire/checksum.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { IpProto } from '../../src/wire/ip.js';
import { PacketInfo, parseFrame, parseInner, parseQuoted } from '../../src/wire/parse.js';
import { WireReason, wireReasonName } from '../../src/wire/reasons.js';
import {
  ArpRepr,
  EthernetRepr,
  GreRepr,
  GueRepr,
  IcmpRepr,
  Icmpv6Repr,
  Ipv4Repr,
  Ipv6Repr,
  ReprError,
  SctpRepr,
  TcpRepr,
  UdpRepr,
  buildFrame,
  buildPacket,
  parsePacket,
  type LayerRepr,
} from '../../src/wire/repr.js';
import { SctpView } from '../../src/wire/sctp.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { C4, C6, V4, V6, eth, ip4, ip6, syn } from './support/build.js';
import { FIXTURES } from './support/fixtures.js';
import { readPcap } from './support/pcap-lite.js';

const info = new PacketInfo();
const kinds = (ls: LayerRepr[]) => ls.map((l) => l.kind).join(' ');

/** parse -> emit must give back the same bytes. */
function roundTrip(b: Uint8Array, guePort = 0): ReturnType<typeof parsePacket> {
  const p = parsePacket(b, 0, b.length, { guePort });
  const out = buildFrame(p.layers, p.payload, { trailer: p.trailer, pad: false });
  expect(bytesToHex(out)).to.equal(bytesToHex(b));
  return p;
}

describe('wire/repr', () => {
  describe('round trip on the hand-made fixtures', () => {
    const expected: Record<string, string> = {
      tcpSyn: 'ethernet ipv4 tcp',
      qinqUdp: 'ethernet ipv4 udp',
      ipv4OptsIcmp: 'ethernet ipv4 icmp',
      ipv6ExtChain: 'ethernet ipv6 udp',
      ipv6Frag2: 'ethernet ipv6',
      arpRequest: 'ethernet arp',
      icmpUnreach: 'ethernet ipv4 icmp',
      icmpv6TooBig: 'ethernet ipv6 icmpv6',
      ipip: 'ethernet ipv4 ipv4 tcp',
      ip6ip6: 'ethernet ipv6 ipv6 tcp',
      greCsum: 'ethernet ipv4 gre ipv4 tcp',
      greKeySeq: 'ethernet ipv4 gre ipv6 udp',
      gue: 'ethernet ipv4 udp gue ipv4 tcp',
      sctpInit: 'ethernet ipv4 sctp',
      tcpPadded: 'ethernet ipv4 tcp',
    };
    for (const fx of Object.values(FIXTURES)) {
      it(`${fx.name}: ${fx.doc}`, () => {
        const p = roundTrip(fx.bytes, 6080);
        expect(kinds(p.layers)).to.equal(expected[fx.name]);
      });
    }

    it('records nothing derived for correct frames (every length and checksum is recomputed identically)', () => {
      for (const fx of Object.values(FIXTURES)) {
        for (const l of parsePacket(fx.bytes, 0, fx.bytes.length, { guePort: 6080 }).layers) {
          const r = l as unknown as Record<string, unknown>;
          if (fx.name === 'ipv6ExtChain' && l.kind === 'udp') continue; // its length covers the second fragment
          for (const k of ['checksum', 'totalLen', 'payloadLen', 'length', 'dataOffset', 'ihl'])
            expect(r[k], `${fx.name} ${l.kind}.${k}`).to.equal(undefined);
        }
      }
    });

    it('reads the fields of each header', () => {
      const [e, ip, t] = parsePacket(FIXTURES.tcpSyn.bytes).layers as [EthernetRepr, Ipv4Repr, TcpRepr];
      expect([e.dst, e.src, e.etherType, e.vlans.length]).to.deep.equal([
        0x525400004002, 0x525400004001, 0x0800, 0,
      ]);
      expect([ip.tos, ip.id, ip.df, ip.mf, ip.rf, ip.fragOffset, ip.ttl, ip.proto]).to.deep.equal([
        0,
        0x1234,
        true,
        false,
        false,
        0,
        64,
        6,
      ]);
      expect([ip.src.toString(), ip.dst.toString(), ip.options.length]).to.deep.equal([
        '172.25.39.10',
        '172.25.40.100',
        0,
      ]);
      expect([t.sport, t.dport, t.seq, t.ack, t.flags, t.window, t.urgent]).to.deep.equal([
        46000, 80, 0x11223344, 0, 2, 64240, 0,
      ]);
      expect(bytesToHex(t.options)).to.equal('020405b40402080a0001e2400000000001030307');

      const q = parsePacket(FIXTURES.qinqUdp.bytes).layers[0] as EthernetRepr;
      expect(q.vlans).to.deep.equal([
        { tpid: 0x88a8, pcp: 0, dei: 0, vid: 100 },
        { tpid: 0x8100, pcp: 5, dei: 0, vid: 200 },
      ]);

      const o = parsePacket(FIXTURES.ipv4OptsIcmp.bytes).layers[1] as Ipv4Repr;
      expect(bytesToHex(o.options)).to.equal('070704000000000101000000');

      const v6 = parsePacket(FIXTURES.ipv6ExtChain.bytes).layers[1] as Ipv6Repr;
      expect([v6.trafficClass, v6.flowLabel, v6.hopLimit, v6.nextHeader]).to.deep.equal([
        0xb8, 0x12345, 64, 17,
      ]);
      expect(v6.extHeaders.map((x) => x.type)).to.deep.equal([0, 60, 43, 44]);
      expect(v6.extHeaders[3]).to.deep.equal({ type: 44, fragOffset: 0, mf: true, ident: 0xcafe0001 });

      const f2 = parsePacket(FIXTURES.ipv6Frag2.bytes);
      expect((f2.layers[1] as Ipv6Repr).extHeaders).to.deep.equal([
        { type: 44, fragOffset: 32, mf: false, ident: 0xcafe0001 },
      ]);
      expect(f2.payload.length).to.equal(16);

      const a = parsePacket(FIXTURES.arpRequest.bytes).layers[1] as ArpRepr;
      expect([a.op, a.sha, a.spa.toString(), a.tha, a.tpa.toString()]).to.deep.equal([
        1,
        0x525400004001,
        '172.25.40.1',
        0,
        '172.25.40.2',
      ]);

      const ic = parsePacket(FIXTURES.icmpUnreach.bytes);
      const icmp = ic.layers[2] as IcmpRepr;
      expect([icmp.type, icmp.code, icmp.rest, ic.payload.length]).to.deep.equal([3, 3, 0, 36]);

      const g = parsePacket(FIXTURES.greKeySeq.bytes).layers[2] as GreRepr;
      expect([g.checksumPresent, g.key, g.seq, g.protocol]).to.deep.equal([
        false,
        0xdeadbeef,
        7,
        EtherType.IPV6,
      ]);

      const gu = parsePacket(FIXTURES.gue.bytes, 0, FIXTURES.gue.bytes.length, { guePort: 6080 })
        .layers[3] as GueRepr;
      expect([gu.version, gu.c, gu.proto, gu.flags, gu.fields.length]).to.deep.equal([0, false, 4, 0, 0]);

      const s = parsePacket(FIXTURES.sctpInit.bytes).layers[2] as SctpRepr;
      expect([s.sport, s.dport, s.vtag, s.chunks.length, s.chunks[0]]).to.deep.equal([5000, 5001, 0, 20, 1]);

      const pad = parsePacket(FIXTURES.tcpPadded.bytes);
      expect([bytesToHex(pad.payload), bytesToHex(pad.trailer)]).to.deep.equal(['6869', '00000000']);
    });

    it('without a GUE port, the GUE frame stops at UDP', () => {
      const p = roundTrip(FIXTURES.gue.bytes, 0);
      expect(kinds(p.layers)).to.equal('ethernet ipv4 udp');
    });

    it('parses from an IP header when asked', () => {
      const pkt = buildPacket([ip6(), new UdpRepr({ sport: 1, dport: 2 })], new Uint8Array([1, 2, 3]));
      const p = parsePacket(pkt, 0, pkt.length, { link: 'ip' });
      expect(kinds(p.layers)).to.equal('ipv6 udp');
      expect(bytesToHex(buildPacket(p.layers, p.payload))).to.equal(bytesToHex(pkt));
    });
  });

  describe('buildFrame', () => {
    it('fills lengths, protocol fields and checksums, and pads to 60 bytes', () => {
      const b = buildFrame([eth(), ip4(), syn()]);
      expect(b.length).to.equal(60);
      expect(parseFrame(b, 0, b.length, b.length, info)).to.equal(0);
      expect(info).to.include({ ipTotalLen: 40, proto: IpProto.TCP, etherType: EtherType.IPV4 });
      expect(ipv4HeaderChecksumOk(b, 14)).to.equal(true);
      expect(l4ChecksumOk4(b, 34, 20, C4.w0, V4.w0, IpProto.TCP)).to.equal(true);
      expect(bytesToHex(b, 54)).to.equal('000000000000');
      expect(buildFrame([eth(), ip4(), syn()], undefined, { pad: false }).length).to.equal(54);
    });

    it('builds correct IPv6 TCP, UDP and ICMPv6 checksums', () => {
      const w = (a: IpAddr) => [a.w0, a.w1, a.w2, a.w3];
      for (const [l4, proto] of [
        [syn(), IpProto.TCP],
        [new UdpRepr({ sport: 1, dport: 2 }), IpProto.UDP],
        [Icmpv6Repr.echo(128, 1, 2), IpProto.ICMPV6],
      ] as const) {
        const b = buildFrame([eth(), ip6(), l4], new Uint8Array([9, 8, 7]));
        expect(parseFrame(b, 0, b.length, b.length, info)).to.equal(0);
        expect(l4ChecksumOk6Words(b, 54, info.l4Len, w(C6), 0, w(V6), 0, proto), String(proto)).to.equal(
          true,
        );
      }
    });

    it('honours every override, to build broken frames', () => {
      const b = buildFrame([eth(), ip4({ checksum: 0x1234 }), syn({ checksum: 0xbeef })]);
      expect(rd16(b, 24)).to.equal(0x1234);
      expect(rd16(b, 50)).to.equal(0xbeef);
      expect(wireReasonName(parseFrame(b, 0, b.length, b.length, info))).to.equal('ipv4-bad-checksum');
      const u = buildFrame(
        [eth(), ip4(), new UdpRepr({ sport: 1, dport: 2, checksum: 0, length: 99 })],
        undefined,
        { pad: false },
      );
      expect([rd16(u, 38), rd16(u, 40)]).to.deep.equal([99, 0]);
      const g = buildFrame([eth(), ip4(), new GreRepr({ checksumPresent: true, checksum: 7 }), ip4(), syn()]);
      expect(rd16(g, 38)).to.equal(7);
      const s = buildFrame([eth(), ip4(), new SctpRepr({ sport: 1, dport: 2, checksum: 0xa1b2c3d4 })]);
      expect(new SctpView().wrap(s, 34).crc).to.equal(0xa1b2c3d4);
      const e = buildFrame([new EthernetRepr({ dst: 1, src: 2, etherType: 0x1234 }), ip4(), syn()]);
      expect(rd16(e, 12)).to.equal(0x1234);
    });

    it('builds an ICMP error quoting a packet, which parseQuoted decodes', () => {
      const quoted = buildPacket(
        [ip4({ ttl: 63 }), new UdpRepr({ sport: 45000, dport: 53 })],
        new Uint8Array(20),
      ).subarray(0, 28);
      const b = buildFrame(
        [eth(), ip4({ src: V4, dst: C4, tos: 0xc0 }), new IcmpRepr({ type: 3, code: 3 })],
        quoted,
      );
      expect(parseFrame(b, 0, b.length, b.length, info)).to.equal(0);
      expect(info).to.include({ icmpType: 3, icmpIsError: 1 });
      const q = new PacketInfo();
      expect(parseQuoted(b, info.l4Off + 8, info.capEnd, q)).to.equal(0);
      expect(q).to.include({ sport: 45000, dport: 53, udpLen: 28, ipTotalLen: 48, l4Len: 28, l4Cap: 8 });
    });

    it('builds every tunnel the director emits, with inner packets parseInner reads', () => {
      const tunnels: [LayerRepr[], number][] = [
        [
          [eth(), ip4({ src: IpAddr.parse('10.0.0.1'), dst: IpAddr.parse('10.0.0.2'), id: 0 }), ip4(), syn()],
          0,
        ],
        [[eth(), ip6(), ip6(), syn()], 0],
        [[eth(), ip4(), new GreRepr({}), ip6(), syn()], 0],
        [[eth(), ip4(), new GreRepr({ checksumPresent: true }), ip4(), syn()], 0],
        [[eth(), ip4(), new UdpRepr({ sport: 1, dport: 6080 }), new GueRepr(), ip6(), syn()], 6080],
        [
          [eth(), ip6(), new UdpRepr({ sport: 1, dport: 6080, checksum: 0 }), new GueRepr(), ip4(), syn()],
          6080,
        ],
        [
          [eth(), ip4(), new UdpRepr({ sport: 1, dport: 6081 }), new GueRepr({ version: 1 }), ip4(), syn()],
          6081,
        ],
      ];
      for (const [layers, port] of tunnels) {
        const b = buildFrame(layers);
        expect(parseFrame(b, 0, b.length, b.length, info), kinds(layers)).to.equal(0);
        const inner = new PacketInfo();
        expect(wireReasonName(parseInner(b, info, inner, port)), kinds(layers)).to.equal('ok');
        expect(inner.sport).to.equal(46000);
        roundTrip(b, port);
      }
      // the GUE header IPVS emits: 00 04 00 00 (IPv4 inside), 00 29 00 00 (IPv6 inside)
      const g4 = buildFrame([
        eth(),
        ip4(),
        new UdpRepr({ sport: 1, dport: 6080 }),
        new GueRepr(),
        ip4(),
        syn(),
      ]);
      expect(bytesToHex(g4, 42, 4)).to.equal('00040000');
      const g6 = buildFrame([
        eth(),
        ip4(),
        new UdpRepr({ sport: 1, dport: 6080 }),
        new GueRepr(),
        ip6(),
        syn(),
      ]);
      expect(bytesToHex(g6, 42, 4)).to.equal('00290000');
      const gre = buildFrame([eth(), ip4(), new GreRepr({ checksumPresent: true }), ip4(), syn()]);
      expect(bytesToHex(gre, 34, 4)).to.equal('80000800');
    });

    it('reproduces the hand-made fixtures from fresh reprs', () => {
      const e = () => new EthernetRepr({ dst: 0x525400004002, src: 0x525400004001 });
      const sctp = buildFrame(
        [
          e(),
          new Ipv4Repr({ src: C4, dst: V4, id: 0x0505, df: true }),
          new SctpRepr({ sport: 5000, dport: 5001, chunks: FIXTURES.sctpInit.bytes.slice(46, 66) }),
        ],
        undefined,
        { pad: false },
      );
      expect(bytesToHex(sctp)).to.equal(bytesToHex(FIXTURES.sctpInit.bytes));
      expect(new SctpView().wrap(sctp, 34).crc).to.equal(sctpChecksum(sctp, 34, 32));
      const tcp = buildFrame(
        [
          e(),
          new Ipv4Repr({ src: C4, dst: V4, id: 0x1235, df: true }),
          new TcpRepr({
            sport: 46000,
            dport: 80,
            seq: 0x11223345,
            ack: 0x99,
            flags: TcpFlag.PSH | TcpFlag.ACK,
            window: 64240,
          }),
        ],
        new TextEncoder().encode('hi'),
      );
      expect(bytesToHex(tcp)).to.equal(bytesToHex(FIXTURES.tcpPadded.bytes));
      const udp = buildFrame(
        [
          new EthernetRepr({
            dst: 0x525400004002,
            src: 0x525400004001,
            vlans: [
              { tpid: 0x88a8, pcp: 0, dei: 0, vid: 100 },
              { tpid: 0x8100, pcp: 5, dei: 0, vid: 200 },
            ],
          }),
          new Ipv4Repr({ src: IpAddr.parse('10.0.0.1'), dst: IpAddr.parse('10.0.0.53'), id: 0x4242 }),
          new UdpRepr({ sport: 53000, dport: 7777 }),
        ],
        new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      );
      expect(bytesToHex(udp)).to.equal(bytesToHex(FIXTURES.qinqUdp.bytes));
    });

    it('refuses impossible layouts with an Error', () => {
      expect(() => buildPacket([ip4({ options: new Uint8Array(3) }), syn()])).to.throw(/multiple of 4/);
      expect(() => buildPacket([ip4(), syn({ options: new Uint8Array(44) })])).to.throw(/multiple of 4/);
      expect(() =>
        buildPacket([ip6({ extHeaders: [{ type: IpProto.DSTOPTS, data: new Uint8Array(5) }] }), syn()]),
      ).to.throw(/multiple of 8/);
      expect(() => buildPacket([ip4()])).to.throw(/cannot infer/);
      expect(() => buildFrame([ip4(), syn()])).to.throw(/first layer/);
    });
  });

  describe('parse errors', () => {
    const cases: [string, () => unknown, number][] = [
      ['Ethernet cut', () => EthernetRepr.parse(new Uint8Array(10)), WireReason.ETH_TRUNCATED],
      ['tag cut', () => EthernetRepr.parse(FIXTURES.qinqUdp.bytes, 0, 16), WireReason.VLAN_TRUNCATED],
      ['ARP cut', () => ArpRepr.parse(FIXTURES.arpRequest.bytes, 14, 30), WireReason.ARP_TRUNCATED],
      ['not IPv4', () => Ipv4Repr.parse(FIXTURES.ip6ip6.bytes, 14), WireReason.IPV4_BAD_VERSION],
      [
        'IHL 3',
        () => Ipv4Repr.parse(new Uint8Array([0x43, ...new Array(19).fill(0)])),
        WireReason.IPV4_BAD_IHL,
      ],
      ['not IPv6', () => Ipv6Repr.parse(FIXTURES.ipip.bytes, 14), WireReason.IPV6_BAD_VERSION],
      [
        'IPv6 chain cut',
        () => Ipv6Repr.parse(FIXTURES.ipv6ExtChain.bytes, 14, 14 + 60),
        WireReason.IPV6_BAD_EXTENSION_CHAIN,
      ],
      ['TCP cut', () => TcpRepr.parse(FIXTURES.tcpSyn.bytes, 34, 50), WireReason.TCP_TRUNCATED],
      ['UDP cut', () => UdpRepr.parse(FIXTURES.qinqUdp.bytes, 42, 46), WireReason.UDP_TRUNCATED],
      [
        'GUE version 2',
        () => GueRepr.parse(new Uint8Array([0x80, 0, 0, 0]), 0, 4),
        WireReason.GUE_BAD_VERSION,
      ],
      ['GRE cut', () => GreRepr.parse(FIXTURES.greKeySeq.bytes, 34, 40), WireReason.GRE_TRUNCATED],
    ];
    for (const [what, run, reason] of cases) {
      it(`throws ReprError(${wireReasonName(reason)}) with the byte offset: ${what}`, () => {
        try {
          run();
          expect.fail('no error');
        } catch (e) {
          expect(e).to.be.instanceOf(ReprError);
          expect((e as ReprError).reason).to.equal(reason);
          expect((e as ReprError).message).to.match(new RegExp(`^${wireReasonName(reason)} at byte \\d+`));
        }
      });
    }

    it('records wrong checksums and lengths so that re-emitting reproduces a broken frame', () => {
      const b = buildFrame(
        [eth(), ip4({ totalLen: 1000 }), syn({ checksum: 1, dataOffset: 15 })],
        undefined,
        { pad: false },
      );
      const p = roundTrip(b);
      expect((p.layers[1] as Ipv4Repr).totalLen).to.equal(1000);
      expect((p.layers[2] as TcpRepr).checksum).to.equal(1);
      expect((p.layers[2] as TcpRepr).dataOffset).to.equal(15);
    });
  });

  describe('the oracle captures (real kernel frames)', () => {
    it('every frame round-trips byte for byte through parsePacket and buildFrame', () => {
      const root = path.join('test', 'oracle', 'scenarios');
      let n = 0;
      for (const sc of readdirSync(root)) {
        const files = [
          ...readdirSync(path.join(root, sc)).map((f) => path.join(sc, f)),
          ...readdirSync(path.join(root, sc, 'expected')).map((f) => path.join(sc, 'expected', f)),
        ].filter((f) => f.endsWith('.pcap'));
        for (const f of files) {
          for (const fr of readPcap(path.join(root, f))) {
            const port = sc === 'tun-gue' ? (fr.data[36] === 0x17 && fr.data[37] === 0xc1 ? 6081 : 6080) : 0;
            const p = parsePacket(fr.data, 0, fr.data.length, { guePort: port });
            const out = buildFrame(p.layers, p.payload, { trailer: p.trailer, pad: false });
            if (bytesToHex(out) !== bytesToHex(fr.data)) expect.fail(`${f}#${fr.index} differs`);
            n++;
          }
        }
      }
      expect(n).to.be.greaterThan(5000);
    });
  });
});
