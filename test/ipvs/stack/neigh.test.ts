import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, ip6, tcp, CLIENT_MAC } from './helpers.js';
import { ArpRepr, EthernetRepr, Icmpv6Repr, buildFrame } from '../../../src/wire/repr.js';
import { IpAddr, readMac } from '../../../src/wire/addr.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';

const V = (s: string): number => IpAddr.parse(s).w0;
const NEW_HOST = 0x020000000d99;

function arp(
  op: number,
  sha: number,
  spa: string,
  tha: number,
  tpa: string,
  dst = 0xffffffffffff,
): Uint8Array {
  return buildFrame(
    [
      new EthernetRepr({ src: sha, dst }),
      new ArpRepr({ op, sha, spa: IpAddr.parse(spa), tha, tpa: IpAddr.parse(tpa) }),
    ],
    undefined,
    { pad: false },
  );
}

/** ARP fields of an emitted 42-byte frame. */
function arpOf(f: Uint8Array): {
  dst: number;
  op: number;
  sha: number;
  spa: number;
  tha: number;
  tpa: number;
} {
  return {
    dst: readMac(f, 0),
    op: rd16(f, 20),
    sha: readMac(f, 22),
    spa: rd32(f, 28),
    tha: readMac(f, 32),
    tpa: rd32(f, 38),
  };
}

function arpIn(b: Bench, f: Uint8Array, link = 0): { fate: string; reason: string } {
  b.rx(f, link);
  b.stack.arpRcv(f, 0, f.length, link);
  return b.done();
}

describe('stack/neigh: resolving next hops without a static entry', () => {
  const toUnknown = (): Uint8Array => frame([ip4('192.168.1.10', '192.168.2.99'), tcp(1, 2, 0x10)]);

  it('probes at once, then every retrans_time (1 s), three broadcast requests, then FAILED', () => {
    const b = new Bench(LAB);
    b.forward(toUnknown());
    b.advance(999);
    b.forward(toUnknown()); // queued behind the same INCOMPLETE entry: no new probe
    expect(b.sink.frames).to.have.length(1);
    b.advance(1000);
    b.advance(2000);
    b.advance(2999);
    expect(b.sink.frames).to.have.length(3);
    const a = arpOf(b.sink.frames[0].bytes);
    expect(a).to.deep.equal({
      dst: 0xffffffffffff,
      op: 1,
      sha: 0x020000000201,
      spa: V('192.168.2.1'),
      tha: 0,
      tpa: V('192.168.2.99'),
    });
    b.advance(3000);
    // FAILED: the two queued packets are reported (ICMP host unreachable, neigh_queue.test.ts)
    expect(b.sink.frames).to.have.length(5);
    expect(b.sink.frames.slice(3).map((f) => [f.bytes[34], f.bytes[35]])).to.deep.equal([
      [3, 1],
      [3, 1],
    ]);
    // failed: the next packet starts over
    b.forward(toUnknown());
    expect(b.sink.frames).to.have.length(6);
  });

  it('the probe source: the queued packet source when it is ours (arp_announce 0), else the link address', () => {
    const b = new Bench(LAB);
    // an ICMP error from the VIP toward an unresolved client
    b.rx(frame([ip4('192.168.1.77', '192.168.1.100'), tcp(1, 81, 0x02)]));
    b.stack.localDeliver();
    expect(arpOf(b.sink.frames[0].bytes).spa).to.equal(V('192.168.1.100'));
    const b2 = new Bench({ ...LAB, sysctl: { 'net.ipv4.conf.all.arp_announce': '2' } });
    b2.rx(frame([ip4('192.168.1.77', '192.168.1.100'), tcp(1, 81, 0x02)]));
    b2.stack.localDeliver();
    expect(arpOf(b2.sink.frames[0].bytes).spa).to.equal(V('192.168.1.1'));
  });

  it('a reply resolves the entry mid-replay: the next packet goes to the learned MAC', () => {
    const b = new Bench(LAB);
    b.forward(toUnknown());
    expect(
      arpIn(b, arp(2, NEW_HOST, '192.168.2.99', 0x020000000201, '192.168.2.1', 0x020000000201), 1),
    ).to.deep.equal({ fate: 'local', reason: 'arp-received' });
    expect(b.forward(toUnknown()).fate).to.equal('forwarded');
    expect(readMac(b.sink.frames[1].bytes, 0)).to.equal(NEW_HOST);
  });

  it('a learned entry nobody confirms: after 5 s of use (DELAY) unicast probes to it, then FAILED', () => {
    const b = new Bench(LAB);
    b.forward(toUnknown());
    arpIn(b, arp(2, NEW_HOST, '192.168.2.99', 0x020000000201, '192.168.2.1', 0x020000000201), 1);
    b.clearFrames();
    // REACHABLE for 30 s, then STALE; use makes it DELAY, 5 s later PROBE
    b.advance(31000);
    b.forward(toUnknown());
    b.advance(36000);
    b.advance(37000);
    b.advance(38000);
    b.advance(39000);
    const probes = b.sink.frames.filter((f) => f.bytes.length === 42).map((f) => arpOf(f.bytes));
    expect(probes).to.have.length(3);
    for (const p of probes) expect(p.dst).to.equal(NEW_HOST);
    b.clearFrames();
    expect(b.forward(toUnknown())).to.deep.equal({ fate: 'held', reason: 'none' });
    expect(arpOf(b.sink.frames[0].bytes).dst).to.equal(0xffffffffffff);
  });

  it('IPv6: neighbour solicitations to the solicited-node group from the link-local address; an advertisement resolves', () => {
    const b = new Bench(LAB6);
    expect(b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::99'), tcp(1, 2, 0x10)]))).to.deep.equal({
      fate: 'held',
      reason: 'none',
    });
    const ns = b.sink.frames[0].bytes;
    expect(ns.length).to.equal(86);
    expect(readMac(ns, 0)).to.equal(0x3333ff000099);
    expect(ns[14 + 7]).to.equal(255);
    expect(rd32(ns, 14 + 8)).to.equal(0xfe800000);
    expect(rd32(ns, 14 + 24)).to.equal(0xff020000);
    expect(rd32(ns, 14 + 36)).to.equal(0xff000099);
    expect(ns[54]).to.equal(135);
    expect(readMac(ns, 54 + 26)).to.equal(0x020000000201);
    // a solicited advertisement with the target's address
    const na = new Icmpv6Repr({ type: 136, code: 0, rest: 0x60000000 });
    const body = new Uint8Array(24);
    body.set([0x20, 0x01, 0x0d, 0xb8, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99], 0);
    body.set([2, 1, 0x02, 0, 0, 0, 0x0d, 0x99], 16);
    expect(
      b.deliver(frame([ip6('2001:db8:40::99', '2001:db8:40::1', { hopLimit: 255 }), na], body, NEW_HOST), 1),
    ).to.deep.equal({
      fate: 'local',
      reason: 'neighbour-discovery-received',
    });
    expect(b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::99'), tcp(1, 2, 0x10)])).fate).to.equal(
      'forwarded',
    );
    expect(readMac(b.sink.frames[1].bytes, 0)).to.equal(NEW_HOST);
  });
});

describe('stack/arp: arp_process', () => {
  it('answers a request for one of our addresses on the link it came in on (42 bytes, to the sender MAC)', () => {
    const b = new Bench(LAB);
    expect(arpIn(b, arp(1, CLIENT_MAC, '192.168.1.10', 0, '192.168.1.100'))).to.deep.equal({
      fate: 'answered',
      reason: 'arp-reply',
    });
    const f = b.sink.frames[0].bytes;
    expect(f.length).to.equal(42);
    expect(arpOf(f)).to.deep.equal({
      dst: CLIENT_MAC,
      op: 2,
      sha: 0x020000000101,
      spa: V('192.168.1.100'),
      tha: CLIENT_MAC,
      tpa: V('192.168.1.10'),
    });
    expect(readMac(f, 6)).to.equal(0x020000000101);
  });

  it('arp_ignore 0 answers for an address of another link; 1 does not; 2 also wants the sender in the subnet', () => {
    const b = new Bench(LAB);
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.2.5', 0, '192.168.1.100'), 1).reason).to.equal('arp-reply');
    b.setSysctl('net.ipv4.conf.server.arp_ignore', '1');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.2.5', 0, '192.168.1.100'), 1).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.2.5', 0, '192.168.2.1'), 1).reason).to.equal('arp-reply');
    b.setSysctl('net.ipv4.conf.all.arp_ignore', '2');
    expect(arpIn(b, arp(1, NEW_HOST, '10.0.0.5', 0, '192.168.2.1'), 1).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.2.5', 0, '192.168.2.1'), 1).reason).to.equal('arp-reply');
  });

  it('arp_filter: no answer when the route back to the sender leaves by another link', () => {
    const b = new Bench({ ...LAB, sysctl: { 'net.ipv4.conf.all.arp_filter': '1' } });
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.1.5', 0, '192.168.2.1'), 1).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.2.5', 0, '192.168.2.1'), 1).reason).to.equal('arp-reply');
  });

  it('no answer for others, multicast or loopback targets, martian senders; a DAD probe (sender 0) is answered', () => {
    const b = new Bench(LAB);
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.1.5', 0, '192.168.1.77')).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.1.5', 0, '224.0.0.1')).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '192.168.1.100', 0, '192.168.1.1')).reason).to.equal('arp-received');
    expect(arpIn(b, arp(1, NEW_HOST, '0.0.0.0', 0, '192.168.1.1'))).to.deep.equal({
      fate: 'answered',
      reason: 'arp-reply',
    });
    expect(arpOf(b.sink.frames[0].bytes).tpa).to.equal(0);
  });

  it('learns the requester (STALE): packets to it need no resolution', () => {
    const b = new Bench({ ...LAB, neigh: [] });
    arpIn(b, arp(1, NEW_HOST, '192.168.1.10', 0, '192.168.1.100'));
    b.clearFrames();
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02)])).reason).to.equal(
      'tcp-reset',
    );
    expect(readMac(b.sink.frames[0].bytes, 0)).to.equal(NEW_HOST);
  });

  it('an unsolicited reply creates nothing (arp_accept 0); arp_accept 1 learns from it', () => {
    const b = new Bench({ ...LAB, neigh: [] });
    arpIn(b, arp(2, NEW_HOST, '192.168.1.10', 0x020000000101, '192.168.1.1', 0x020000000101));
    expect(b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02)])).reason).to.equal(
      'neighbour-unresolved',
    );
    const b2 = new Bench({ ...LAB, neigh: [], sysctl: { 'net.ipv4.conf.all.arp_accept': '1' } });
    arpIn(b2, arp(2, NEW_HOST, '192.168.1.10', 0x020000000101, '192.168.1.1', 0x020000000101));
    expect(b2.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02)])).reason).to.equal(
      'tcp-reset',
    );
  });
});

describe('stack/nd: neighbour solicitations for our addresses', () => {
  const ns = (target: number[], src: string, dst: string, sll: number | null, hop = 255): Uint8Array => {
    const body = new Uint8Array(16 + (sll !== null ? 8 : 0));
    body.set(target, 0);
    if (sll !== null) {
      body.set([1, 1], 16);
      for (let i = 0; i < 6; i++) body[18 + i] = Math.floor(sll / 2 ** (8 * (5 - i))) & 255;
    }
    return frame(
      [ip6(src, dst, { hopLimit: hop }), new Icmpv6Repr({ type: 135, code: 0 })],
      body,
      CLIENT_MAC,
      0x3333ff000100,
    );
  };
  const VIP = [0x20, 0x01, 0x0d, 0xb8, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

  it('multicast NS → NA solicited, override, router (forwarding on), with our MAC; the solicitor learned', () => {
    const b = new Bench({ ...LAB6, neigh: [] });
    expect(b.deliver(ns(VIP, '2001:db8:39::77', 'ff02::1:ff00:100', CLIENT_MAC))).to.deep.equal({
      fate: 'answered',
      reason: 'neighbour-advertisement',
    });
    const f = b.sink.frames[0].bytes;
    expect(readMac(f, 0)).to.equal(CLIENT_MAC);
    expect(f[14 + 7]).to.equal(255);
    expect(rd32(f, 14) & 0xfffff).to.equal(0);
    expect(rd32(f, 14 + 8 + 12)).to.equal(0x100); // from the target address
    expect(f[54]).to.equal(136);
    expect(f[58]).to.equal(0xe0);
    expect(f.length).to.equal(14 + 40 + 32);
    expect(readMac(f, 54 + 26)).to.equal(0x020000000101);
  });

  it('unicast NS → NA without override and without the option; not for an address of another link; hop limit must be 255', () => {
    const b = new Bench(LAB6);
    b.deliver(ns(VIP, '2001:db8:39::10', '2001:db8:40::100', CLIENT_MAC));
    const f = b.sink.frames[0].bytes;
    expect(f[58]).to.equal(0xc0);
    expect(f.length).to.equal(14 + 40 + 24);
    const other = [0x20, 0x01, 0x0d, 0xb8, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(b.deliver(ns(other, '2001:db8:39::10', 'ff02::1:ff00:1', CLIENT_MAC)).reason).to.equal(
      'neighbour-discovery-received',
    );
    expect(b.deliver(ns(VIP, '2001:db8:39::10', 'ff02::1:ff00:100', CLIENT_MAC, 64)).reason).to.equal(
      'neighbour-discovery-received',
    );
    expect(b.sink.frames).to.have.length(1);
  });

  it('answers for the link-local address too; a DAD probe is answered to all-nodes', () => {
    const b = new Bench(LAB6);
    // fe80::ff:fe00:101 for 02:00:00:00:01:01
    const ll = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 1, 1];
    expect(b.deliver(ns(ll, '2001:db8:39::10', 'ff02::1:ff00:101', CLIENT_MAC)).reason).to.equal(
      'neighbour-advertisement',
    );
    expect(b.deliver(ns(VIP, '::', 'ff02::1:ff00:100', null)).reason).to.equal('neighbour-advertisement');
    const f = b.sink.frames[1].bytes;
    expect(readMac(f, 0)).to.equal(0x333300000001);
    expect(f[58]).to.equal(0xa0); // router + override, not solicited
  });
});
