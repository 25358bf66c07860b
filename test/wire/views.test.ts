import { expect } from 'chai';
import fc from 'fast-check';
import { IpAddr, readAddrWords, writeAddrWords } from '../../src/wire/addr.js';
import { ArpView } from '../../src/wire/arp.js';
import { EMPTY_BYTES, bytesToHex, hexToBytes, rd16, rd32, wr16, wr32 } from '../../src/wire/bytes.js';
import { ipv4HeaderChecksumOk } from '../../src/wire/checksum.js';
import { EthernetView, VlanView } from '../../src/wire/ethernet.js';
import { GreView, checkGre } from '../../src/wire/gre.js';
import { GueView, checkGue } from '../../src/wire/gue.js';
import { IcmpView } from '../../src/wire/icmp.js';
import { Icmpv6View } from '../../src/wire/icmpv6.js';
import { IpProto } from '../../src/wire/ip.js';
import { Ipv4View, checkIpv4 } from '../../src/wire/ipv4.js';
import { Ipv6ExtView, Ipv6FragView, Ipv6View } from '../../src/wire/ipv6.js';
import { WireReason } from '../../src/wire/reasons.js';
import { SctpView } from '../../src/wire/sctp.js';
import { TcpFlag, TcpView, checkTcp } from '../../src/wire/tcp.js';
import { UdpView } from '../../src/wire/udp.js';
import { FIXTURES } from './support/fixtures.js';

describe('wire/bytes and addr helpers', () => {
  it('reads and writes 16/32-bit big-endian values', () => {
    fc.assert(
      fc.property(fc.nat(0xffff), fc.nat(0xffffffff), fc.nat(10), (v16, v32, o) => {
        const b = new Uint8Array(16);
        wr16(b, o, v16);
        expect(rd16(b, o)).to.equal(v16);
        expect(b[o]).to.equal(v16 >>> 8);
        wr32(b, o, v32);
        expect(rd32(b, o)).to.equal(v32);
        expect(b[o]).to.equal(v32 >>> 24);
      }),
    );
  });

  it('parses annotated hex and prints it back', () => {
    expect(bytesToHex(hexToBytes('de:ad be-ef # a comment 12 34\n 0a'))).to.equal('deadbeef0a');
    expect(() => hexToBytes('abc')).to.throw(/odd/);
    expect(() => hexToBytes('zz')).to.throw(/hex/);
    expect(EMPTY_BYTES.length).to.equal(0);
  });

  it('copies addresses between bytes and words without allocating IpAddr objects', () => {
    const w = new Uint32Array(8).fill(9);
    const v6 = IpAddr.parse('2001:db8::1:2');
    readAddrWords(v6.bytes(), 0, 6, w, 4);
    expect(IpAddr.fromWords(6, w, 4).equals(v6)).to.equal(true);
    readAddrWords(IpAddr.parse('10.1.2.3').bytes(), 0, 4, w, 4);
    expect([...w.subarray(4)]).to.deep.equal([0x0a010203, 0, 0, 0]);
    const out = new Uint8Array(20);
    writeAddrWords(out, 2, 6, [1, 2, 3, 4]);
    expect(bytesToHex(out, 2, 16)).to.equal('00000001000000020000000300000004');
    writeAddrWords(out, 0, 4, [0xc0a80001, 7, 7, 7]);
    expect(bytesToHex(out, 0, 6)).to.equal('c0a800010001'); // 4 bytes written, the rest untouched
  });
});

describe('wire header views', () => {
  it('Ethernet and VLAN views read and write their fields', () => {
    const b = FIXTURES.qinqUdp.bytes.slice();
    const e = new EthernetView().wrap(b, 0);
    expect(e.dst).to.equal(0x525400004002);
    expect(e.src).to.equal(0x525400004001);
    expect(e.etherType).to.equal(0x88a8);
    expect(e.dstIsGroup).to.equal(false);
    const v = new VlanView().wrap(b, 12);
    expect([v.tpid, v.vid, v.pcp, v.dei, v.nextType]).to.deep.equal([0x88a8, 100, 0, 0, 0x8100]);
    v.wrap(b, 16);
    expect([v.tpid, v.vid, v.pcp, v.tci, v.nextType]).to.deep.equal([0x8100, 200, 5, 0xa0c8, 0x0800]);
    e.dst = 0xffffffffffff;
    e.src = 0x020000000201;
    expect(e.dstIsGroup).to.equal(true);
    expect(bytesToHex(b, 0, 12)).to.equal('ffffffffffff020000000201');
    v.tci = 0x0005;
    v.tpid = 0x88a8;
    v.nextType = 0x86dd;
    expect(bytesToHex(b, 16, 6)).to.equal('88a8000586dd');
    e.etherType = 0x0800;
    expect(rd16(b, 12)).to.equal(0x0800);
  });

  it('ARP view', () => {
    const b = FIXTURES.arpRequest.bytes.slice();
    const a = new ArpView().wrap(b, 14);
    expect([a.htype, a.ptype, a.hlen, a.plen, a.op]).to.deep.equal([1, 0x0800, 6, 4, 1]);
    expect(a.sha).to.equal(0x525400004001);
    expect(a.spa).to.equal(0xac192801);
    expect(a.tpa).to.equal(0xac192802);
    a.op = 2;
    a.tha = a.sha;
    a.sha = 0x020000000201;
    const t = a.tpa;
    a.tpa = a.spa;
    a.spa = t;
    expect([a.op, a.tha, a.sha, a.spa, a.tpa]).to.deep.equal([
      2, 0x525400004001, 0x020000000201, 0xac192802, 0xac192801,
    ]);
  });

  it('IPv4 view reads every field and keeps neighbouring bits when writing', () => {
    const b = FIXTURES.ipv4OptsIcmp.bytes.slice();
    const ip = new Ipv4View().wrap(b, 14);
    expect([ip.version, ip.ihl, ip.headerLen, ip.tos, ip.totalLen, ip.id]).to.deep.equal([
      4, 8, 32, 0, 48, 0x0101,
    ]);
    expect([ip.rf, ip.df, ip.mf, ip.fragOffset, ip.isFragment, ip.ttl, ip.proto]).to.deep.equal([
      0,
      1,
      0,
      0,
      false,
      64,
      1,
    ]);
    expect([ip.src, ip.dst]).to.deep.equal([0xac19270a, 0xac192864]);
    expect(ip.csum).to.equal(rd16(b, 24));
    ip.tos = 0xbb;
    expect([ip.dscp, ip.ecn]).to.deep.equal([46, 3]);
    ip.df = 0;
    ip.mf = 1;
    ip.fragOffset = 1480;
    expect([ip.df, ip.mf, ip.fragOffset, ip.isFragment, ip.fragWord]).to.deep.equal([
      0,
      1,
      1480,
      true,
      0x2000 | 185,
    ]);
    ip.fragWord = 0x4000;
    ip.setSrc(0x0a000001);
    ip.dst = 0x0a000002;
    ip.setDst(0x0a000003);
    ip.ttl = 9;
    ip.id = 0xabcd;
    ip.totalLen = 48;
    ip.proto = 6;
    ip.ihl = 8;
    ip.fillChecksum();
    expect(ipv4HeaderChecksumOk(b, 14)).to.equal(true);
    expect(checkIpv4(b, 14, b.length, b.length)).to.equal(WireReason.OK);
    expect([ip.src, ip.dst, ip.ttl, ip.id]).to.deep.equal([0x0a000001, 0x0a000003, 9, 0xabcd]);
  });

  it('IPv6, extension and fragment views', () => {
    const b = FIXTURES.ipv6ExtChain.bytes.slice();
    const ip = new Ipv6View().wrap(b, 14);
    expect([
      ip.version,
      ip.trafficClass,
      ip.flowLabel,
      ip.payloadLen,
      ip.nextHeader,
      ip.hopLimit,
    ]).to.deep.equal([6, 0xb8, 0x12345, 80, 0, 64]);
    expect(ip.srcWord(0)).to.equal(0x20010db8);
    expect(ip.dstWord(3)).to.equal(0x100);
    const w = new Uint32Array(4);
    ip.readDst(w);
    expect(IpAddr.fromWords(6, w).toString()).to.equal('2001:db8:40::100');
    ip.readSrc(w);
    expect(IpAddr.fromWords(6, w).toString()).to.equal('2001:db8::10');
    ip.trafficClass = 0x04;
    ip.flowLabel = 0xfffff;
    expect([ip.version, ip.trafficClass, ip.flowLabel]).to.deep.equal([6, 0x04, 0xfffff]);
    ip.writeDst([1, 2, 3, 4]);
    ip.setSrcWord(3, 0xdead);
    ip.setDstWord(0, 9);
    expect([ip.dstWord(0), ip.dstWord(3), ip.srcWord(3)]).to.deep.equal([9, 4, 0xdead]);
    ip.writeSrc(new Uint32Array([5, 6, 7, 8]));
    expect(ip.srcWord(1)).to.equal(6);
    ip.hopLimit = 1;
    ip.payloadLen = 7;
    ip.nextHeader = 60;
    expect([ip.hopLimit, ip.payloadLen, ip.nextHeader]).to.deep.equal([1, 7, 60]);

    const x = new Ipv6ExtView().wrap(b, 14 + 40);
    expect([x.nextHeader, x.hdrLenField, x.byteLen(IpProto.HOPOPTS)]).to.deep.equal([60, 0, 8]);
    x.wrap(b, 14 + 56);
    expect([x.nextHeader, x.byteLen(IpProto.ROUTING)]).to.deep.equal([44, 24]);
    expect(x.byteLen(IpProto.AH)).to.equal(16);
    x.nextHeader = 17;
    expect(b[14 + 56]).to.equal(17);

    const f = new Ipv6FragView().wrap(b, 14 + 80);
    expect([f.nextHeader, f.fragOffset, f.mf, f.ident]).to.deep.equal([17, 0, 1, 0xcafe0001]);
    f.fragOffset = 1232;
    f.mf = 0;
    f.ident = 5;
    f.nextHeader = 6;
    expect([f.nextHeader, f.fragOffset, f.mf, f.ident]).to.deep.equal([6, 1232, 0, 5]);
  });

  it('TCP view: flags including NS, data offset, options offset', () => {
    const b = FIXTURES.tcpSyn.bytes.slice();
    const t = new TcpView().wrap(b, 34);
    expect([t.sport, t.dport, t.seq, t.ack, t.headerLen, t.flags, t.window, t.urgent]).to.deep.equal([
      46000,
      80,
      0x11223344,
      0,
      40,
      TcpFlag.SYN,
      64240,
      0,
    ]);
    expect([t.syn, t.ackFlag, t.fin, t.rst, t.optionsOff]).to.deep.equal([true, false, false, false, 54]);
    t.flags = TcpFlag.NS | TcpFlag.ACK | TcpFlag.FIN;
    expect(t.headerLen).to.equal(40);
    expect([t.flags, t.fin, t.ackFlag, t.syn]).to.deep.equal([0x111, true, true, false]);
    t.headerLen = 20;
    expect([t.headerLen, t.flags]).to.deep.equal([20, 0x111]);
    t.sport = 1;
    t.dport = 2;
    t.seq = 0xffffffff;
    t.ack = 3;
    t.window = 4;
    t.csum = 5;
    t.urgent = 6;
    expect([t.sport, t.dport, t.seq, t.ack, t.window, t.csum, t.urgent]).to.deep.equal([
      1, 2, 0xffffffff, 3, 4, 5, 6,
    ]);
    expect(checkTcp(b, 34, 34 + 19, 74)).to.equal(WireReason.TCP_HEADER_NOT_CAPTURED);
  });

  it('UDP, ICMP, ICMPv6 and SCTP views', () => {
    const u = new UdpView().wrap(FIXTURES.qinqUdp.bytes.slice(), 42);
    expect([u.sport, u.dport, u.length]).to.deep.equal([53000, 7777, 20]);
    u.sport = 1;
    u.dport = 2;
    u.length = 3;
    u.csum = 4;
    expect([u.sport, u.dport, u.length, u.csum]).to.deep.equal([1, 2, 3, 4]);

    const i = new IcmpView().wrap(FIXTURES.icmpUnreach.bytes.slice(), 34);
    expect([i.type, i.code, i.rest, i.quotedOff]).to.deep.equal([3, 3, 0, 42]);
    i.type = 3;
    i.code = 4;
    i.mtu = 1480;
    expect([i.rest, i.mtu, i.pointer]).to.deep.equal([1480, 1480, 0]);
    i.type = 8;
    i.id = 0x77;
    i.seq = 2;
    i.csum = 1;
    expect([i.id, i.seq, i.rest, i.csum]).to.deep.equal([0x77, 2, 0x00770002, 1]);
    i.rest = 0x0c000000;
    expect(i.pointer).to.equal(12);

    const v = new Icmpv6View().wrap(FIXTURES.icmpv6TooBig.bytes.slice(), 54);
    expect([v.type, v.code, v.mtu, v.quotedOff]).to.deep.equal([2, 0, 1280, 62]);
    v.mtu = 1460;
    v.type = 128;
    v.code = 0;
    v.csum = 0;
    expect([v.id, v.seq, v.pointer, v.type]).to.deep.equal([0, 1460, 1460, 128]);
    v.id = 9;
    v.seq = 8;
    expect(v.mtu).to.equal(0x00090008);

    const sb = FIXTURES.sctpInit.bytes.slice();
    const s = new SctpView().wrap(sb, 34);
    expect([s.sport, s.dport, s.vtag, s.chunkType, s.chunkFlags, s.chunkLen]).to.deep.equal([
      5000, 5001, 0, 1, 0, 20,
    ]);
    expect(s.csumField).to.equal(rd32(sb, 42));
    const crc = s.crc;
    s.crc = 0x11223344;
    expect(bytesToHex(sb, 42, 4)).to.equal('44332211');
    expect(s.csumField).to.equal(0x44332211);
    s.crc = crc;
    s.sport = 1;
    s.dport = 2;
    s.vtag = 3;
    expect([s.sport, s.dport, s.vtag]).to.deep.equal([1, 2, 3]);
  });

  it('GUE view: version 0 header and version 1 direct IP', () => {
    const b = FIXTURES.gue.bytes.slice();
    const g = new GueView().wrap(b, 42);
    expect([g.version, g.c, g.hlen, g.proto, g.flags, g.headerLen, g.innerProto]).to.deep.equal([
      0, 0, 0, 4, 0, 4, 4,
    ]);
    g.proto = 41;
    expect(g.innerProto).to.equal(IpProto.IPV6);
    g.proto = 6;
    expect(g.innerProto).to.equal(-1);
    g.flags = 0x8000;
    expect(g.flags).to.equal(0x8000);
    const d = hexToBytes('45 00 00 14');
    const g1 = new GueView().wrap(d, 0);
    expect([g1.version, g1.headerLen, g1.innerProto]).to.deep.equal([1, 0, IpProto.IPIP]);
    expect(checkGue(d, 0, 4, 4)).to.equal(0);
    d[0] = 0x60;
    expect(g1.innerProto).to.equal(IpProto.IPV6);
    expect(new GueView().wrap(hexToBytes('22 04 00 00'), 0).innerProto).to.equal(-1);
    expect(new GueView().wrap(hexToBytes('02 04 00 00'), 0).headerLen).to.equal(12);
  });

  it('GRE view: flags and optional fields', () => {
    const c = new GreView().wrap(FIXTURES.greCsum.bytes.slice(), 34);
    expect([
      c.flags,
      c.csumPresent,
      c.keyPresent,
      c.seqPresent,
      c.version,
      c.protocol,
      c.headerLen,
    ]).to.deep.equal([0x8000, true, false, false, 0, 0x0800, 8]);
    expect([c.keyRel, c.key, c.seq]).to.deep.equal([-1, 0, 0]);
    const k = new GreView().wrap(FIXTURES.greKeySeq.bytes.slice(), 34);
    expect([k.keyPresent, k.seqPresent, k.protocol, k.headerLen, k.key, k.seq, k.keyRel]).to.deep.equal([
      true,
      true,
      0x86dd,
      12,
      0xdeadbeef,
      7,
      4,
    ]);
    k.key = 1;
    k.protocol = 0x0800;
    k.flags = 0xb000;
    expect([k.headerLen, k.keyRel, k.key, k.csumPresent]).to.deep.equal([16, 8, rd32(k.buf, 34 + 8), true]);
    k.csum = 0x1234;
    expect(k.csum).to.equal(0x1234);
    c.key = 5; // absent: ignored
    expect(c.headerLen).to.equal(8);
    expect(checkGre(c.buf, 34, 40, 100)).to.equal(WireReason.GRE_HEADER_NOT_CAPTURED);
  });

  it('a view wraps any buffer and offset without allocating a new view', () => {
    const v = new Ipv4View();
    const a = FIXTURES.tcpSyn.bytes;
    const b = FIXTURES.ipip.bytes;
    expect(v.wrap(a, 14)).to.equal(v);
    expect(v.ttl).to.equal(64);
    expect(v.wrap(b, 34).src).to.equal(0xac19270a);
  });
});
