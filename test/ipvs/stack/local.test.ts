import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, ip6, tcp, udp, text, v4, icmpEcho } from './helpers.js';
import { IcmpRepr, Icmpv6Repr, TcpRepr, UdpRepr, type Ipv4Repr } from '../../../src/wire/repr.js';
import { IpProto } from '../../../src/wire/ip.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';
import { IpAddr } from '../../../src/wire/addr.js';

const V = (s: string): number => IpAddr.parse(s).w0;

describe('stack/local: TCP with no listening socket', () => {
  it('SYN with data: RST|ACK, seq 0, ack = seq + 1 + data length', () => {
    const b = new Bench(LAB);
    b.deliver(
      frame([ip4('192.168.1.10', '192.168.1.100'), tcp(5000, 81, 0x02, { seq: 1000 })], text('abcd')),
    );
    const t = b.out(0).layers[2] as TcpRepr;
    expect(t).to.include({ sport: 81, dport: 5000, seq: 0, ack: 1005, flags: 0x14, window: 0 });
    expect(t.checksum).to.equal(undefined);
  });

  it('FIN without ACK: ack counts the FIN; ACK: seq = ack, no ACK flag', () => {
    const b = new Bench(LAB);
    b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(5000, 81, 0x01, { seq: 7 })]));
    expect((b.out(0).layers[2] as TcpRepr).ack).to.equal(8);
    b.deliver(
      frame([ip4('192.168.1.10', '192.168.1.100'), tcp(5000, 81, 0x18, { seq: 7, ack: 99 })], text('zz')),
    );
    expect(b.out(1).layers[2] as TcpRepr).to.include({ seq: 99, ack: 0, flags: 0x04 });
  });

  it('the reset: TOS without ECN bits, TTL 64, DF, ID 0', () => {
    const b = new Bench(LAB);
    b.deliver(frame([ip4('192.168.1.10', '192.168.1.100', { tos: 0xbb, ttl: 9 }), tcp(5000, 81, 0x02)]));
    expect(v4(b.sink.frames[0].bytes)).to.deep.equal({ tos: 0xb8, id: 0, df: true, ttl: 64, proto: 6 });
  });

  it('a RST is never answered; a bad checksum or a bad data offset drops the segment', () => {
    const b = new Bench(LAB);
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x04)]))).to.deep.equal({
      fate: 'local',
      reason: 'tcp-reset-received',
    });
    expect(
      b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02, { checksum: 1 })])).reason,
    ).to.equal('l4-bad-checksum');
    expect(
      b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02, { dataOffset: 15 })])).reason,
    ).to.equal('malformed');
    expect(b.sink.frames).to.have.length(0);
  });

  it('a segment to a broadcast address or in a link-layer broadcast frame gets nothing', () => {
    const b = new Bench(LAB);
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.255'), tcp(1, 81, 0x02)]))).to.deep.equal({
      fate: 'local',
      reason: 'broadcast',
    });
    expect(
      b.deliver(
        frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02)], undefined, undefined, 0xffffffffffff),
      ).reason,
    ).to.equal('broadcast');
    expect(b.sink.frames).to.have.length(0);
  });

  it('IPv6: RST|ACK from the destination, hop limit 64, traffic class without ECN', () => {
    const b = new Bench(LAB6);
    b.deliver(
      frame([ip6('2001:db8:39::10', '2001:db8:40::100', { trafficClass: 0x2b }), tcp(5000, 81, 0x02)]),
    );
    const f = b.sink.frames[0].bytes;
    expect((rd32(f, 14) >>> 20) & 0xff).to.equal(0x28);
    expect(f[14 + 7]).to.equal(64);
    expect(b.out(0).layers[2] as TcpRepr).to.include({ flags: 0x14, ack: 101 });
  });
});

describe('stack/local: UDP', () => {
  it('checksum 0 is "none" on IPv4 but invalid on IPv6; a wrong one is dropped', () => {
    const b = new Bench(LAB);
    expect(
      b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9, { checksum: 0 })], text('x'))).reason,
    ).to.equal('icmp-port-unreachable');
    expect(
      b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9, { checksum: 7 })], text('x'))).reason,
    ).to.equal('l4-bad-checksum');
    const b6 = new Bench(LAB6);
    expect(
      b6.deliver(frame([ip6('2001:db8:39::10', '2001:db8:40::100'), udp(1, 9, { checksum: 0 })], text('x')))
        .reason,
    ).to.equal('l4-bad-checksum');
    expect(
      b6.deliver(frame([ip6('2001:db8:39::10', '2001:db8:40::100'), udp(1, 9)], text('x'))),
    ).to.deep.equal({
      fate: 'answered',
      reason: 'icmp-port-unreachable',
    });
    const m = b6.out(0).layers[2] as Icmpv6Repr;
    expect(m).to.include({ type: 1, code: 4 });
  });

  it('the quote ends at the UDP length (the datagram was trimmed to it)', () => {
    const b = new Bench(LAB);
    // IP payload 8 + 20 bytes, UDP length 12: the UDP checksum covers 12 bytes
    const f = frame(
      [ip4('192.168.1.10', '192.168.1.100'), new UdpRepr({ sport: 1, dport: 9, length: 12, checksum: 0 })],
      new Uint8Array(20),
    );
    b.deliver(f);
    const g = b.sink.frames[0].bytes;
    expect(rd16(g, 16)).to.equal(20 + 8 + 20 + 12);
  });

  it('to a broadcast or a joined multicast group: consumed without answer', () => {
    const b = new Bench(LAB);
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.255'), udp(1, 9)], text('x')))).to.deep.equal({
      fate: 'local',
      reason: 'broadcast',
    });
    expect(b.deliver(frame([ip4('192.168.1.10', '224.0.0.1'), udp(1, 9)], text('x'))).reason).to.equal(
      'broadcast',
    );
    expect(b.sink.frames).to.have.length(0);
  });
});

describe('stack/local: ICMP', () => {
  it('echo reply: same id, seq and data; code copied; checksum right', () => {
    const b = new Bench(LAB);
    b.deliver(
      frame([ip4('192.168.1.10', '192.168.1.100', { tos: 0x10 }), icmpEcho(77, 3)], text('payload!')),
    );
    const p = b.out(0);
    const ic = p.layers[2] as IcmpRepr;
    expect(ic).to.include({ type: 0, code: 0, rest: (77 << 16) | 3 });
    expect(ic.checksum).to.equal(undefined);
    expect(new TextDecoder().decode(p.payload)).to.equal('payload!');
    expect(v4(b.sink.frames[0].bytes)).to.include({ tos: 0x10, ttl: 64, df: false });
    expect(rd32(b.sink.frames[0].bytes, 26)).to.equal(V('192.168.1.100'));
  });

  it('a bad ICMP checksum drops the request; other types are consumed', () => {
    const b = new Bench(LAB);
    const bad = new IcmpRepr({ type: 8, code: 0, rest: 1, checksum: 3 });
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), bad])).reason).to.equal(
      'icmp-bad-checksum',
    );
    expect(
      b.deliver(
        frame([ip4('192.168.1.10', '192.168.1.100'), new IcmpRepr({ type: 3, code: 3 })], new Uint8Array(28)),
      ),
    ).to.deep.equal({
      fate: 'local',
      reason: 'icmp-received',
    });
  });

  it('echo to a broadcast is ignored (icmp_echo_ignore_broadcasts=1), answered when set to 0; echo_ignore_all', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.255'), icmpEcho(1, 1)]);
    expect(b.deliver(f).reason).to.equal('broadcast');
    b.setSysctl('net.ipv4.icmp_echo_ignore_broadcasts', '0');
    expect(b.deliver(f).reason).to.equal('echo-reply');
    // the reply comes from our address on that link
    expect(rd32(b.sink.frames[0].bytes, 26)).to.equal(V('192.168.1.1'));
    b.setSysctl('net.ipv4.icmp_echo_ignore_all', '1');
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), icmpEcho(1, 1)])).reason).to.equal(
      'icmp-received',
    );
  });

  it('timestamp request: timestamp reply with the originate time copied', () => {
    const b = new Bench(LAB);
    const data = new Uint8Array(12);
    data.set([0, 0, 1, 2]);
    b.advance(1234);
    b.deliver(
      frame(
        [ip4('192.168.1.10', '192.168.1.100'), new IcmpRepr({ type: 13, code: 0, rest: 0x00050001 })],
        data,
      ),
    );
    const g = b.sink.frames[0].bytes;
    expect(g[34]).to.equal(14);
    expect(rd32(g, 42)).to.equal(0x102);
    expect(rd32(g, 46)).to.equal(1234);
    expect(rd16(g, 16)).to.equal(20 + 20);
  });
});

describe('stack/local: other protocols', () => {
  it('an unknown protocol gets protocol unreachable; IGMP is consumed', () => {
    const b = new Bench(LAB);
    const ip = ip4('192.168.1.10', '192.168.1.100', { proto: IpProto.GRE }) as Ipv4Repr;
    expect(b.deliver(frame([ip], new Uint8Array(8)))).to.deep.equal({
      fate: 'answered',
      reason: 'icmp-protocol-unreachable',
    });
    expect(b.sink.frames[0].bytes[34]).to.equal(3);
    expect(b.sink.frames[0].bytes[35]).to.equal(2);
    const igmp = ip4('192.168.1.10', '224.0.0.1', { proto: 2 });
    expect(b.deliver(frame([igmp], new Uint8Array(8))).reason).to.equal('other-received');
  });

  it('IPv6: parameter problem "unrecognized next header" pointing at the field that named it', () => {
    const b = new Bench(LAB6);
    b.deliver(frame([ip6('2001:db8:39::10', '2001:db8:40::100', { nextHeader: 47 })], new Uint8Array(8)));
    let m = b.out(0).layers[2] as Icmpv6Repr;
    expect(m).to.include({ type: 4, code: 1, rest: 6 });
    // behind a destination-options header: the pointer is that header's first byte (40)
    const dst = { type: IpProto.DSTOPTS as 60, data: new Uint8Array(6) };
    b.deliver(
      frame(
        [ip6('2001:db8:39::10', '2001:db8:40::100', { nextHeader: 47, extHeaders: [dst] })],
        new Uint8Array(8),
      ),
    );
    m = b.out(1).layers[2] as Icmpv6Repr;
    expect(m.rest).to.equal(40);
  });

  it('multicast to a group the director has not joined: local, broadcast', () => {
    const b = new Bench(LAB);
    expect(b.deliver(frame([ip4('192.168.1.10', '239.1.2.3'), udp(1, 9)], text('x')))).to.deep.equal({
      fate: 'local',
      reason: 'broadcast',
    });
    const b6 = new Bench(LAB6);
    expect(b6.deliver(frame([ip6('2001:db8:39::10', 'ff02::1:2'), udp(1, 9)], text('x'))).reason).to.equal(
      'broadcast',
    );
  });

  it('IPv6 echo to all-nodes is answered from the link (icmpv6 echo_ignore_multicast 0)', () => {
    const b = new Bench(LAB6);
    expect(
      b.deliver(frame([ip6('2001:db8:39::10', 'ff02::1'), Icmpv6Repr.echo(128, 5, 6)], text('hi'))).reason,
    ).to.equal('echo-reply');
    const f = b.sink.frames[0].bytes;
    expect(rd32(f, 14 + 8)).to.equal(0x20010db8);
    expect(rd32(f, 14 + 8 + 12)).to.equal(1); // 2001:db8:39::1, the client link's address
  });
});
