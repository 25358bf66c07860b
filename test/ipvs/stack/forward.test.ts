import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, ip6, tcp, udp, v4, CLIENT_MAC } from './helpers.js';
import { Hook, Verdict } from '../../../src/ipvs/hooks.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';
import { readMac } from '../../../src/wire/addr.js';
import { ipv4HeaderChecksumOk } from '../../../src/wire/checksum.js';
import { IpAddr } from '../../../src/wire/addr.js';
import { Reason } from '../../../src/ipvs/verdict.js';

const V = (s: string): number => IpAddr.parse(s).w0;

describe('stack/forward: ip_forward', () => {
  it('forwards with TTL - 1 (checksum fixed), the next hop MAC, our MAC, everything else untouched', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.2.210', { tos: 0x2a, id: 0x777 }), tcp(1, 2, 0x10)]);
    expect(b.forward(f)).to.deep.equal({ fate: 'forwarded', reason: 'none' });
    const g = b.sink.frames[0];
    expect(g.link).to.equal(1);
    expect(readMac(g.bytes, 0)).to.equal(0x020000000d10);
    expect(readMac(g.bytes, 6)).to.equal(0x020000000201);
    expect(v4(g.bytes)).to.deep.equal({ tos: 0x2a, id: 0x777, df: true, ttl: 63, proto: 6 });
    expect(ipv4HeaderChecksumOk(g.bytes, 14)).to.equal(true);
    expect(Array.from(g.bytes.subarray(34))).to.deep.equal(Array.from(f.subarray(34)));
  });

  it('runs FORWARD hooks (forward_icmp, then out) after the TTL decrement; STOLEN / DROP stop it', () => {
    const b = new Bench(LAB);
    let ttlSeen = -1;
    b.hooks.onHook = (): void => {
      ttlSeen = b.env.skb.buf[b.env.skb.l3 + 8];
    };
    b.forward(frame([ip4('192.168.1.10', '192.168.2.210', { ttl: 30 }), tcp(1, 2, 0x10)]));
    expect(b.hooks.calls).to.deep.equal([`fwdicmp${Hook.FORWARD}`, `out${Hook.FORWARD}`]);
    expect(ttlSeen).to.equal(29);
    b.hooks.verdict = Verdict.STOLEN;
    b.hooks.onHook = (): void => b.env.forwarded();
    expect(b.forward(frame([ip4('192.168.1.10', '192.168.2.210'), tcp(1, 2, 0x10)])).fate).to.equal(
      'forwarded',
    );
    b.hooks.verdict = Verdict.DROP;
    b.hooks.onHook = null;
    expect(b.forward(frame([ip4('192.168.1.10', '192.168.2.210'), tcp(1, 2, 0x10)])).reason).to.equal(
      'ipvs-drop',
    );
    expect(b.sink.frames).to.have.length(1);
  });

  it('TTL 1: time exceeded, nothing forwarded, no FORWARD hook runs (only LOCAL_OUT for the error)', () => {
    const b = new Bench(LAB);
    expect(
      b.forward(frame([ip4('192.168.1.10', '192.168.2.210', { ttl: 1 }), tcp(1, 2, 0x10)])),
    ).to.deep.equal({
      fate: 'answered',
      reason: 'ttl-exceeded',
    });
    expect(b.hooks.calls).to.deep.equal([`out${Hook.LOCAL_OUT}`, `in${Hook.LOCAL_OUT}`]);
    expect(b.sink.frames[0].bytes[34]).to.equal(11);
  });

  it('DF and too big for the device MTU: fragmentation needed with the MTU; DF clear: fragmented', () => {
    const b = new Bench({ ...LAB, links: [LAB.links[0], { ...LAB.links[1], mtu: 1000 }] });
    const big = (df: boolean): Uint8Array =>
      frame([ip4('192.168.1.10', '192.168.2.210', { df }), udp(1, 2)], new Uint8Array(1400));
    expect(b.forward(big(true))).to.deep.equal({ fate: 'answered', reason: 'fragmentation-needed' });
    const m = b.sink.frames[0].bytes;
    expect([m[34], m[35], rd16(m, 40)]).to.deep.equal([3, 4, 1000]);
    b.clearFrames();
    expect(b.forward(big(false)).fate).to.equal('forwarded');
    expect(b.sink.frames.map((f) => rd16(f.bytes, 16))).to.deep.equal([996, 20 + 1408 - 976]);
    expect(b.sink.frames.map((f) => f.bytes[22])).to.deep.equal([63, 63]);
  });

  it('no route: ICMP network unreachable, limited by ip_error (cost 1 s, burst 5 s) and the ICMP limit', () => {
    const b = new Bench({ ...LAB, routes: [] });
    const f = frame([ip4('192.168.1.10', '10.1.1.1'), tcp(1, 2, 0x10)]);
    const r = Array.from({ length: 5 }, () => b.forward(f).reason);
    // each error takes a token from ip_error and one from icmpv4_xrlim_allow on the same inet_peer
    expect(r).to.deep.equal([
      'no-route',
      'no-route',
      'icmp-rate-limited',
      'icmp-rate-limited',
      'icmp-rate-limited',
    ]);
    expect(b.sink.frames.map((x) => [x.bytes[34], x.bytes[35]])).to.deep.equal([
      [3, 0],
      [3, 0],
    ]);
  });

  it('sends a host redirect when the packet leaves by the link it came in on, from an on-link sender, and still forwards it', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.11'), tcp(1, 2, 0x10)]);
    expect(b.forward(f).fate).to.equal('forwarded');
    expect(b.sink.frames).to.have.length(2);
    const red = b.sink.frames[0].bytes;
    expect([red[34], red[35]]).to.deep.equal([5, 1]);
    expect(rd32(red, 38)).to.equal(V('192.168.1.11'));
    // the quoted packet is the one being forwarded: TTL already decremented
    expect(red[42 + 8]).to.equal(63);
    expect(readMac(b.sink.frames[1].bytes, 0)).to.equal(0x020000000c02);
  });

  it('redirect back-off: at most 9, spaced 20 ms << n, silence of 20.48 s resets', () => {
    const b = new Bench(LAB);
    const f = (): Uint8Array => frame([ip4('192.168.1.10', '192.168.1.11'), tcp(1, 2, 0x10)]);
    let t = 0;
    const times: number[] = [];
    for (let i = 0; i < 600; i++) {
      t += 25;
      b.advance(t);
      const before = b.stack.fwd.redirects;
      b.forward(f());
      if (b.stack.fwd.redirects > before) times.push(t);
    }
    expect(times).to.have.length(9);
    // the n-th redirect waits more than 20 ms << n after the previous one
    for (let n = 1; n < 9; n++) expect(times[n] - times[n - 1]).to.be.greaterThan(20 << n);
    b.advance(t + 21000);
    const before = b.stack.fwd.redirects;
    b.forward(f());
    expect(b.stack.fwd.redirects).to.equal(before + 1);
  });

  it('no redirect with send_redirects 0 (all and the interface), or for a sender behind a gateway', () => {
    const b = new Bench({
      ...LAB,
      sysctl: { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.send_redirects': '0' },
    });
    b.forward(frame([ip4('192.168.1.10', '192.168.1.11'), tcp(1, 2, 0x10)]));
    expect(b.sink.frames).to.have.length(2); // IN_DEV_ORCONF: the interface's 1 still counts
    b.clearFrames();
    b.setSysctl('net.ipv4.conf.client.send_redirects', '0');
    b.forward(frame([ip4('192.168.1.10', '192.168.1.11'), tcp(1, 2, 0x10)]));
    expect(b.sink.frames).to.have.length(1);
    const b2 = new Bench(LAB);
    b2.forward(frame([ip4('10.7.7.7', '192.168.1.11'), tcp(1, 2, 0x10)]));
    expect(b2.sink.frames).to.have.length(1);
  });

  it('fills a record-route option with the outgoing address', () => {
    const b = new Bench(LAB);
    const rr = new Uint8Array([7, 7, 4, 0, 0, 0, 0, 0]);
    b.forward(frame([ip4('192.168.1.10', '192.168.2.210', { options: rr }), tcp(1, 2, 0x10)]));
    const g = b.sink.frames[0].bytes;
    expect(g[36]).to.equal(8);
    expect(rd32(g, 37)).to.equal(V('192.168.2.1'));
    expect(ipv4HeaderChecksumOk(g, 14)).to.equal(true);
  });

  it('a unicast packet in a link-layer broadcast frame is not forwarded', () => {
    const b = new Bench(LAB);
    expect(
      b.forward(
        frame([ip4('192.168.1.10', '192.168.2.210'), tcp(1, 2, 0x10)], undefined, CLIENT_MAC, 0xffffffffffff),
      ).reason,
    ).to.equal('not-for-us');
  });

  it('an unresolved next hop: broadcast ARP request, the packet waits (its frame held)', () => {
    const b = new Bench(LAB);
    expect(b.forward(frame([ip4('192.168.1.10', '192.168.2.99'), tcp(1, 2, 0x10)]))).to.deep.equal({
      fate: 'held',
      reason: 'none',
    });
    const a = b.sink.frames[0];
    expect(a.link).to.equal(1);
    expect(a.bytes.length).to.equal(42);
    expect(readMac(a.bytes, 0)).to.equal(0xffffffffffff);
  });
});

describe('stack/forward: ip6_forward', () => {
  it('forwards with hop limit - 1; hop limit 1: time exceeded', () => {
    const b = new Bench(LAB6);
    expect(b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::2'), tcp(1, 2, 0x10)])).fate).to.equal(
      'forwarded',
    );
    expect(b.sink.frames[0].bytes[14 + 7]).to.equal(63);
    expect(
      b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::2', { hopLimit: 1 }), tcp(1, 2, 0x10)])).reason,
    ).to.equal('ttl-exceeded');
    const m = b.sink.frames[1].bytes;
    expect([m[54], m[55]]).to.deep.equal([3, 0]);
    // from our address on the link the packet came in on
    expect(rd32(m, 14 + 8 + 12)).to.equal(1);
  });

  it('too big: packet too big with the MTU; a link-local source: destination unreachable (beyond scope... not a neighbour)', () => {
    const b = new Bench({ ...LAB6, links: [LAB6.links[0], { ...LAB6.links[1], mtu: 1300 }] });
    expect(
      b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::2'), udp(1, 2)], new Uint8Array(1300))).reason,
    ).to.equal('fragmentation-needed');
    const m = b.sink.frames[0].bytes;
    expect([m[54], rd32(m, 58)]).to.deep.equal([2, 1300]);
    expect(
      b.forward(frame([ip6('fe80::5', '2001:db8:40::2'), udp(1, 2)], new Uint8Array(10))).reason,
    ).to.equal('no-route');
  });

  it('redirect when leaving by the incoming link toward an on-link destination, from the link-local address', () => {
    const b = new Bench({
      ...LAB6,
      neigh: [...(LAB6.neigh ?? []), { addr: '2001:db8:39::11', mac: '02:00:00:00:0c:02', dev: 'client' }],
    });
    expect(b.forward(frame([ip6('2001:db8:39::10', '2001:db8:39::11'), tcp(1, 2, 0x10)])).fate).to.equal(
      'forwarded',
    );
    expect(b.sink.frames).to.have.length(2);
    const r = b.sink.frames[0].bytes;
    expect(r[54]).to.equal(137);
    expect(r[14 + 7]).to.equal(255);
    expect(rd32(r, 14 + 8)).to.equal(0xfe800000);
    // the target link-layer option carries the destination's MAC
    expect(readMac(r, 54 + 40 + 2)).to.equal(0x020000000c02);
    void Reason;
  });
});
