import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, ip6, tcp, udp, text, v4, icmpEcho } from './helpers.js';
import { IcmpRepr, Icmpv6Repr, Ipv4Repr, Ipv6Repr } from '../../../src/wire/repr.js';
import { Hook, Verdict } from '../../../src/ipvs/hooks.js';
import { Reason } from '../../../src/ipvs/verdict.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';
import { IpAddr } from '../../../src/wire/addr.js';

const V = (s: string): number => IpAddr.parse(s).w0;
const syn = (src = '192.168.1.10', dst = '192.168.1.100', extra: Partial<Ipv4Repr> = {}): Uint8Array =>
  frame([ip4(src, dst, extra), tcp(40000, 80, 0x02)]);

/** The ICMP message of an emitted IPv4 frame. */
function icmpOf(f: Uint8Array): {
  type: number;
  code: number;
  rest: number;
  quoteLen: number;
  src: number;
  dst: number;
} {
  const ihl = (f[14] & 15) * 4;
  const ic = 14 + ihl;
  return {
    type: f[ic],
    code: f[ic + 1],
    rest: rd32(f, ic + 4),
    quoteLen: rd16(f, 16) - ihl - 8,
    src: rd32(f, 26),
    dst: rd32(f, 30),
  };
}

describe('stack/icmp: __icmp_send rules', () => {
  it('errors come from the packet destination when it was ours, TOS (tos & 0x1e) | 0xc0, TTL 64, DF clear', () => {
    const b = new Bench(LAB);
    b.rx(syn('192.168.1.10', '192.168.1.100', { tos: 0xbb }));
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(true);
    const f = b.sink.frames[0].bytes;
    expect(icmpOf(f).src).to.equal(V('192.168.1.100'));
    expect(v4(f)).to.include({ tos: (0xbb & 0x1e) | 0xc0, ttl: 64, df: false, proto: 1 });
  });

  it('errors about a forwarded packet come from the preferred source of the route back to the sender', () => {
    const b = new Bench(LAB);
    b.rx(syn('192.168.1.10', '10.9.9.9', { ttl: 1 }));
    b.stack.forward();
    expect(b.done()).to.deep.equal({ fate: 'answered', reason: 'ttl-exceeded' });
    expect(icmpOf(b.sink.frames[0].bytes)).to.include({ type: 11, code: 0, src: V('192.168.1.1') });
  });

  it('icmp_errors_use_inbound_ifaddr picks the incoming interface address', () => {
    const b = new Bench({
      ...LAB,
      routes: [{ prefix: '10.0.0.0/8', via: '192.168.2.210' }],
      sysctl: { 'net.ipv4.ip_forward': '1', 'net.ipv4.icmp_errors_use_inbound_ifaddr': '1' },
    });
    // arrives on the server link from a host routed through the client link
    b.rx(frame([ip4('192.168.1.10', '10.9.9.9', { ttl: 1 }), tcp(1, 2, 2)]), 1);
    b.stack.forward();
    expect(icmpOf(b.sink.frames[0].bytes).src).to.equal(V('192.168.2.1'));
  });

  it('refuses: non-first fragment, ICMP errors, unknown ICMP types, broadcast / multicast destinations, link-layer broadcasts', () => {
    const b = new Bench(LAB);
    const cases: Uint8Array[] = [
      frame(
        [ip4('192.168.1.10', '192.168.1.100', { fragOffset: 8, df: false, proto: 17 })],
        new Uint8Array(16),
      ),
      frame([ip4('192.168.1.10', '192.168.1.100'), new IcmpRepr({ type: 3, code: 1 })], new Uint8Array(28)),
      frame([ip4('192.168.1.10', '192.168.1.100'), new IcmpRepr({ type: 42, code: 0 })], new Uint8Array(4)),
      syn('192.168.1.10', '192.168.1.255'),
      syn('192.168.1.10', '255.255.255.255'),
      syn('192.168.1.10', '224.0.0.5'),
      frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 2, 2)], undefined, undefined, 0xffffffffffff),
      // no error goes to a zero, loopback or group source (the way back is not a wire)
      syn('0.0.0.0', '192.168.1.100'),
      syn('127.0.0.1', '192.168.1.100'),
      syn('224.1.1.1', '192.168.1.100'),
    ];
    for (const c of cases) {
      b.rx(c);
      expect(b.stack.icmpSend(3, 3, 0), `case ${cases.indexOf(c)}`).to.equal(false);
    }
    // an echo request is not an error: errors about it are allowed
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100'), icmpEcho(1, 1)]));
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(true);
    expect(b.sink.frames).to.have.length(1);
  });

  it('quotes min(route MTU, 576) - 20 - options - 8 bytes', () => {
    const b = new Bench(LAB);
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], new Uint8Array(1400)));
    b.stack.icmpSend(3, 3, 0);
    const f = b.sink.frames[0].bytes;
    expect(f.length).to.equal(14 + 576);
    expect(icmpOf(f).quoteLen).to.equal(548);
    // a 500-byte MTU toward the sender: 472 bytes
    const b2 = new Bench({ ...LAB, links: [{ ...LAB.links[0], mtu: 500 }, LAB.links[1]] });
    b2.rx(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], new Uint8Array(1400)));
    b2.stack.icmpSend(3, 3, 0);
    expect(icmpOf(b2.sink.frames[0].bytes).quoteLen).to.equal(500 - 28);
    // a shorter packet is quoted whole
    const b3 = new Bench(LAB);
    b3.rx(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], new Uint8Array(10)));
    b3.stack.icmpSend(3, 3, 0);
    expect(icmpOf(b3.sink.frames[0].bytes).quoteLen).to.equal(38);
  });

  it('checksums: IPv4 header and ICMP message verify', () => {
    const b = new Bench(LAB);
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], text('hello')));
    b.stack.icmpSend(3, 3, 0);
    const p = b.out(0);
    const ip = p.layers[1] as Ipv4Repr;
    const ic = p.layers[2] as IcmpRepr;
    expect(ip.checksum).to.equal(undefined);
    expect(ic.checksum).to.equal(undefined);
    expect(ic.type).to.equal(3);
  });

  it('echoes record-route options with the replying address, and reverses a source route', () => {
    const b = new Bench(LAB);
    // RR with room for 2 addresses (pointer 4), then EOL padding
    const rr = new Uint8Array([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100', { options: rr }), udp(1, 9)], text('x')));
    b.stack.icmpSend(3, 3, 0);
    const f = b.sink.frames[0].bytes;
    expect(f[14] & 15).to.equal(8); // 12 bytes of options
    const o = 34;
    expect([f[o], f[o + 1], f[o + 2]]).to.deep.equal([7, 11, 12]);
    // slot 1: the address the packet was received on (receive-side compile), slot 2: the replying source
    expect(rd32(f, o + 3)).to.equal(V('192.168.1.100'));
    expect(rd32(f, o + 7)).to.equal(V('192.168.1.100'));
    // LSRR 10.1.1.1, 10.2.2.2 fully used: the reply goes back via 10.2.2.2 then 10.1.1.1
    const b2 = new Bench(LAB);
    const lsrr = new Uint8Array([131, 11, 12, 10, 1, 1, 1, 10, 2, 2, 2, 0]);
    b2.rx(frame([ip4('192.168.1.10', '192.168.1.100', { options: lsrr }), udp(1, 9)], text('x')));
    expect(b2.stack.icmpSend(3, 3, 0)).to.equal(true);
    const g = b2.sink.frames[0].bytes;
    expect([g[34], g[35], g[36]]).to.deep.equal([131, 11, 4]);
    expect(rd32(g, 30)).to.equal(V('10.2.2.2')); // first hop
    expect(rd32(g, 37)).to.equal(V('10.1.1.1'));
    expect(rd32(g, 41)).to.equal(V('192.168.1.10')); // final destination written by ip_options_build
  });

  it('rate limit per destination: a burst of 6 port unreachables, then one per icmp_ratelimit (1 s)', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], text('x'));
    const sendOne = (): string => b.deliver(f).reason;
    const first = Array.from({ length: 8 }, sendOne);
    expect(first.filter((r) => r === 'icmp-port-unreachable')).to.have.length(6);
    expect(first[7]).to.equal('icmp-rate-limited');
    b.advance(500);
    expect(sendOne()).to.equal('icmp-rate-limited');
    b.advance(1004);
    expect(sendOne()).to.equal('icmp-port-unreachable');
    expect(sendOne()).to.equal('icmp-rate-limited');
    // another destination has its own bucket
    expect(b.deliver(frame([ip4('192.168.1.11', '192.168.1.100'), udp(1, 9)], text('x'))).reason).to.equal(
      'icmp-port-unreachable',
    );
  });

  it('frag-needed and echo replies are not rate limited (icmp_ratemask 0x1818)', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 80, 0x10)], new Uint8Array(100));
    let n = 0;
    for (let i = 0; i < 20; i++) {
      b.rx(f);
      if (b.stack.icmpSend(3, 4, 1400)) n++;
    }
    expect(n).to.equal(20);
    const e = frame([ip4('192.168.1.10', '192.168.1.100'), icmpEcho(1, 1)]);
    for (let i = 0; i < 20; i++) expect(b.deliver(e).reason).to.equal('echo-reply');
  });

  it('icmp_ratemask 0 lifts the per-destination limit; icmp_ratelimit 0 too', () => {
    const b = new Bench({ ...LAB, sysctl: { 'net.ipv4.icmp_ratemask': '0' } });
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], text('x'));
    for (let i = 0; i < 20; i++) expect(b.deliver(f).reason).to.equal('icmp-port-unreachable');
  });

  it('global limit: icmp_msgs_burst credits, each message consuming 0-2, refilled at icmp_msgs_per_sec', () => {
    const b = new Bench(LAB);
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      const src = `10.0.${i >> 8}.${i & 255}`;
      if (
        b.deliver(frame([ip4(src, '192.168.1.100'), udp(1, 9 + i)], text('x'))).reason ===
        'icmp-port-unreachable'
      )
        sent++;
    }
    expect(sent).to.be.within(26, 120);
    // 20 ms later (HZ/50) the bucket refills by 20 credits
    b.advance(24);
    expect(b.deliver(frame([ip4('10.1.1.1', '192.168.1.100'), udp(1, 9)], text('x'))).reason).to.equal(
      'icmp-port-unreachable',
    );
  });

  it('runs the error through LOCAL_OUT (out hook, then in hook) as the packet in flight; hooks decide no input fate', () => {
    const b = new Bench(LAB);
    const seen: string[] = [];
    b.hooks.onHook = (name, hook): void => {
      const i = b.env.info;
      seen.push(`${name}${hook}:${i.proto}:${i.saddr[0] === V('192.168.1.100')}`);
      b.env.drop(Reason.IPVS_DROP); // must not become the input frame's fate
    };
    b.rx(syn());
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(true);
    expect(seen).to.deep.equal([`out${Hook.LOCAL_OUT}:1:true`, `in${Hook.LOCAL_OUT}:1:true`]);
    expect(b.env.fate).to.equal(-1);
    // the input packet is back in flight, untouched
    expect(b.env.info.proto).to.equal(6);
  });

  it('a hook that steals the error: no frame here; one that drops it: not sent', () => {
    const b = new Bench(LAB);
    b.hooks.verdict = Verdict.STOLEN;
    b.rx(syn());
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(true);
    expect(b.sink.frames).to.have.length(0);
    b.hooks.verdict = Verdict.DROP;
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(false);
  });

  it('no ICMP while another is being sent (icmp_xmit_lock)', () => {
    const b = new Bench(LAB);
    let nested: boolean | null = null;
    b.hooks.onHook = (name): void => {
      if (name === 'out' && nested === null) nested = b.stack.icmpSend(3, 3, 0);
    };
    b.rx(syn());
    expect(b.stack.icmpSend(3, 1, 0)).to.equal(true);
    expect(nested).to.equal(false);
  });

  it('an unresolved way back: not sent, the frame is dropped neighbour-unresolved and ARP goes out', () => {
    const b = new Bench({ ...LAB, neigh: [] });
    b.rx(syn());
    expect(b.stack.icmpSend(3, 3, 0)).to.equal(false);
    expect(b.done().reason).to.equal('neighbour-unresolved');
    expect(b.sink.frames).to.have.length(1);
    expect(rd16(b.sink.frames[0].bytes, 12)).to.equal(0x0806);
  });
});

describe('stack/icmp: icmp6_send rules', () => {
  const syn6 = (
    src = '2001:db8:39::10',
    dst = '2001:db8:40::100',
    extra: Partial<Ipv6Repr> = {},
  ): Uint8Array => frame([ip6(src, dst, extra), tcp(40000, 80, 0x02)]);

  it('quotes up to 1280 bytes in all, hop limit 64, from our address', () => {
    const b = new Bench(LAB6);
    b.rx(frame([ip6('2001:db8:39::10', '2001:db8:40::100'), udp(1, 9)], new Uint8Array(1452)));
    expect(b.stack.icmpSend(1, 4, 0)).to.equal(true);
    const f = b.sink.frames[0].bytes;
    expect(f.length).to.equal(14 + 1280);
    expect(f[14 + 7]).to.equal(64);
    expect(rd32(f, 14 + 8 + 12)).to.equal(0x100);
    const p = b.out(0);
    expect((p.layers[2] as Icmpv6Repr).checksum).to.equal(undefined);
  });

  it('refuses errors to multicast destinations except packet too big; about ICMPv6 errors; from :: or multicast sources', () => {
    const b = new Bench(LAB6);
    b.rx(syn6('2001:db8:39::10', 'ff02::1'));
    expect(b.stack.icmpSend(1, 4, 0)).to.equal(false);
    expect(b.stack.icmpSend(2, 0, 1280)).to.equal(true);
    b.rx(
      frame(
        [ip6('2001:db8:39::10', '2001:db8:40::100'), new Icmpv6Repr({ type: 1, code: 4 })],
        new Uint8Array(48),
      ),
    );
    expect(b.stack.icmpSend(1, 4, 0)).to.equal(false);
    b.rx(syn6('::', '2001:db8:40::100'));
    expect(b.stack.icmpSend(1, 4, 0)).to.equal(false);
    // an echo request may be answered with an error
    b.rx(frame([ip6('2001:db8:39::10', '2001:db8:40::100'), Icmpv6Repr.echo(128, 1, 1)]));
    expect(b.stack.icmpSend(1, 4, 0)).to.equal(true);
  });

  it('rate limit scaled by the route prefix: /64 → 1/4 s per message after a burst of 6; packet too big unlimited', () => {
    const b = new Bench(LAB6);
    const f = frame([ip6('2001:db8:39::10', '2001:db8:40::100'), udp(1, 9)], text('x'));
    const r = Array.from({ length: 8 }, () => b.deliver(f).reason);
    expect(r.filter((x) => x === 'icmp-port-unreachable')).to.have.length(6);
    b.advance(200);
    expect(b.deliver(f).reason).to.equal('icmp-rate-limited');
    b.advance(252); // 62 jiffies = 248 ms after the last message went
    expect(b.deliver(f).reason).to.equal('icmp-port-unreachable');
    for (let i = 0; i < 10; i++) {
      b.rx(f);
      expect(b.stack.icmpSend(2, 0, 1280)).to.equal(true);
    }
  });

  it('a deterministic, non-zero automatic flow label', () => {
    const b = new Bench(LAB6);
    b.rx(syn6());
    b.stack.icmpSend(1, 4, 0);
    b.stack.icmpSend(1, 4, 0);
    const fl = (k: number): number => rd32(b.sink.frames[k].bytes, 14) & 0xfffff;
    expect(fl(0)).to.equal(fl(1));
    expect(fl(0)).to.not.equal(0);
  });
});
