import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip6, udp } from './helpers.js';
import { Hook } from '../../../src/ipvs/hooks.js';
import { IpProto } from '../../../src/wire/ip.js';
import { buildPacket, Ipv4Repr, UdpRepr, type Ipv6Repr } from '../../../src/wire/repr.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';
import { ipv4HeaderChecksumOk } from '../../../src/wire/checksum.js';
import { IpAddr } from '../../../src/wire/addr.js';
import { truesizeOf } from '../../../src/ipvs/stack/frag.js';
import { REASON_COUNT } from '../../../src/ipvs/verdict.js';

/** A UDP datagram (8 + n bytes of payload) and its IPv4 fragments cut at the given data offsets. */
function fragments4(
  n: number,
  cuts: number[],
  opts: { id?: number; src?: string; dst?: string; tos?: number; df?: boolean[]; ttl?: number } = {},
): { whole: Uint8Array; frames: Uint8Array[] } {
  const payload = new Uint8Array(n).map((_, i) => (i * 7) & 255);
  const ip = new Ipv4Repr({
    src: IpAddr.parse(opts.src ?? '192.168.1.10'),
    dst: IpAddr.parse(opts.dst ?? '192.168.1.100'),
    id: opts.id ?? 0x4242,
    tos: opts.tos ?? 0,
    ttl: opts.ttl ?? 64,
  });
  const whole = buildPacket([ip, new UdpRepr({ sport: 5000, dport: 53 })], payload);
  const data = whole.subarray(20);
  const bounds = [0, ...cuts, data.length];
  const frames: Uint8Array[] = [];
  for (let k = 0; k < bounds.length - 1; k++) {
    const part = data.subarray(bounds[k], bounds[k + 1]);
    const fr = new Ipv4Repr({
      src: ip.src,
      dst: ip.dst,
      id: ip.id,
      tos: ip.tos,
      ttl: ip.ttl,
      proto: 17,
      fragOffset: bounds[k],
      mf: k < bounds.length - 2,
      df: opts.df?.[k] ?? false,
    });
    frames.push(frame([fr], part));
  }
  return { whole, frames };
}

/** Feeds a fragment to gatherFrags(hook); returns [completed, fate]. */
function feed(b: Bench, f: Uint8Array, hook: number = Hook.LOCAL_IN, link = 0): [boolean, string, string] {
  b.rx(f, link);
  const ok = b.stack.gatherFrags(hook);
  const r = ok ? { fate: 'complete', reason: '' } : b.done();
  return [ok, r.fate, r.reason];
}

describe('stack/frag: IPv4 reassembly (ip_defrag)', () => {
  it('holds fragments and makes the whole datagram the packet in flight, in any order', () => {
    const b = new Bench(LAB);
    const { whole, frames } = fragments4(3000, [1480, 2960]);
    expect(feed(b, frames[2])).to.deep.equal([false, 'held', 'none']);
    expect(feed(b, frames[0])).to.deep.equal([false, 'held', 'none']);
    expect(feed(b, frames[1])[0]).to.equal(true);
    const s = b.env.skb;
    expect(s.len).to.equal(whole.length);
    expect(Array.from(s.buf.subarray(s.l3 + 20, s.l3 + s.len))).to.deep.equal(Array.from(whole.subarray(20)));
    expect(rd16(s.buf, s.l3 + 6)).to.equal(0); // MF and offset cleared
    expect(ipv4HeaderChecksumOk(s.buf, s.l3)).to.equal(true);
    expect(s.fragMaxSize).to.equal(1500);
    expect(b.env.heldReleased).to.equal(2);
    expect(b.env.info.proto).to.equal(17);
    expect(b.env.info.dport).to.equal(53);
    expect(b.env.info.isFragment).to.equal(0);
    expect(b.stack.frag.queues).to.equal(0);
  });

  it('keeps DF on the datagram only when the largest fragment had it; combines ECN', () => {
    const b = new Bench(LAB);
    const a = fragments4(2000, [1000], { df: [true, true], tos: 2 });
    feed(b, a.frames[0]);
    feed(b, a.frames[1]);
    expect(b.env.skb.buf[b.env.skb.l3 + 6] & 0x40).to.equal(0x40);
    const c = fragments4(2000, [1000], { df: [true, false], id: 9 });
    feed(b, c.frames[0]);
    feed(b, c.frames[1]);
    expect(b.env.skb.buf[b.env.skb.l3 + 6] & 0x40).to.equal(0);
    // ECT(0) + CE -> CE; not-ECT + CE -> dropped
    const d = fragments4(2000, [1000], { id: 10, tos: 2 });
    const ce = fragments4(2000, [1000], { id: 10, tos: 3 });
    feed(b, d.frames[0]);
    feed(b, ce.frames[1]);
    expect(b.env.skb.buf[b.env.skb.l3 + 1] & 3).to.equal(3);
    const e = fragments4(2000, [1000], { id: 11, tos: 0 });
    const ce2 = fragments4(2000, [1000], { id: 11, tos: 3 });
    feed(b, e.frames[0]);
    expect(feed(b, ce2.frames[1])).to.deep.equal([false, 'dropped', 'fragment-bad']);
  });

  it('an overlap kills the whole queue (6.1 drops overlapping IPv4 fragments too); a duplicate only itself', () => {
    const b = new Bench(LAB);
    const { frames } = fragments4(3000, [1480, 2960]);
    feed(b, frames[0]);
    expect(feed(b, frames[0])).to.deep.equal([false, 'dropped', 'fragment-duplicate']);
    expect(b.stack.frag.queues).to.equal(1);
    // a fragment overlapping the first by 8 bytes
    const over = fragments4(3000, [1472, 2960]).frames[1];
    expect(feed(b, over)).to.deep.equal([false, 'dropped', 'fragment-bad']);
    expect(b.stack.frag.queues).to.equal(0);
    expect(b.env.fates.fates[4]).to.equal(0); // the held first fragment was released ...
    expect(b.env.fates.byReason[3 * REASON_COUNT + 16]).to.equal(2); // ... to dropped/fragment-bad, with the overlapping one
  });

  it('a last fragment that disagrees with the known end kills the queue', () => {
    const b = new Bench(LAB);
    const a = fragments4(3000, [1480, 2960]).frames;
    const c = fragments4(2000, [1480]).frames;
    feed(b, a[2]);
    expect(feed(b, c[1])).to.deep.equal([false, 'dropped', 'fragment-bad']);
    expect(b.stack.frag.queues).to.equal(0);
  });

  it('keeps separate queues per defrag user, per id and per protocol', () => {
    const b = new Bench(LAB);
    const { frames } = fragments4(2000, [1000]);
    feed(b, frames[0], Hook.LOCAL_IN);
    feed(b, frames[1], Hook.FORWARD);
    expect(b.stack.frag.queues).to.equal(2);
    expect(feed(b, frames[1], Hook.LOCAL_IN)[0]).to.equal(true);
    expect(feed(b, frames[0], Hook.FORWARD)[0]).to.equal(true);
  });

  it('expires after ipfrag_time (30 s): time exceeded (reassembly) quoting the first fragment, held frames dropped', () => {
    const b = new Bench(LAB);
    const { frames } = fragments4(3000, [1480, 2960]);
    feed(b, frames[0]);
    feed(b, frames[1]);
    b.advance(29999);
    expect(b.sink.frames).to.have.length(0);
    b.advance(30000);
    expect(b.sink.frames).to.have.length(1);
    const f = b.sink.frames[0].bytes;
    expect([f[34], f[35]]).to.deep.equal([11, 1]);
    expect(rd16(f, 16)).to.equal(576);
    // the quote starts with the first fragment's header: MF set, offset 0
    expect(rd16(f, 42 + 6)).to.equal(0x2000);
    expect(b.env.fates.fates[4]).to.equal(-2 + 2); // released ...
    expect(b.env.fates.byReason[3 * REASON_COUNT + 15]).to.equal(2); // ... to dropped/fragment-incomplete
    expect(b.stack.frag.queues).to.equal(0);
  });

  it('no ICMP on expiry when the first fragment never came', () => {
    const b = new Bench(LAB);
    const { frames } = fragments4(3000, [1480, 2960]);
    feed(b, frames[1]);
    b.advance(31000);
    expect(b.sink.frames).to.have.length(0);
    expect(b.stack.frag.queues).to.equal(0);
  });

  it('flush() at the end of a replay releases held frames to dropped/fragment-incomplete', () => {
    const b = new Bench(LAB);
    const { frames } = fragments4(3000, [1480, 2960]);
    feed(b, frames[0]);
    feed(b, frames[2]);
    b.stack.flush();
    expect(b.env.fates.fates[4]).to.equal(0);
    expect(b.env.fates.fates[3]).to.equal(2);
  });

  it('above ipfrag_high_thresh no fragment is accepted (counted drop), until queues expire', () => {
    const b = new Bench({ ...LAB, sysctl: { 'net.ipv4.ipfrag_high_thresh': '10000' } });
    let held = 0;
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const r = feed(b, fragments4(3000, [1480], { id: 100 + i }).frames[0]);
      if (r[1] === 'held') held++;
      if (r[2] === 'fragment-memory-limit') refused++;
    }
    const per = truesizeOf(14 + 1500) + 192;
    expect(held).to.equal(Math.floor(10000 / per) + 1);
    expect(refused).to.equal(10 - held);
    b.advance(31000);
    expect(feed(b, fragments4(3000, [1480], { id: 999 }).frames[0])[1]).to.equal('held');
  });

  it('ip_frag_too_far: more than 64 other fragments from the source in between restarts the queue', () => {
    const b = new Bench(LAB);
    const first = fragments4(2000, [1000], { id: 1 }).frames;
    feed(b, first[0]);
    for (let i = 0; i < 65; i++) feed(b, fragments4(2000, [1000], { id: 1000 + i }).frames[0]);
    // the second half of id 1 now finds a fresh queue: not complete
    expect(feed(b, first[1])).to.deep.equal([false, 'held', 'none']);
    expect(b.env.fates.byReason[3 * REASON_COUNT + 15]).to.equal(1);
  });

  it('re-fragments with the original split when it fits, else cuts (MTU - 20) & ~7 with MTU capped at the largest fragment', () => {
    const b = new Bench({
      ...LAB,
      links: [LAB.links[0], { ...LAB.links[1], mtu: 1000 }],
    });
    const { frames } = fragments4(1700, [600, 1200]);
    feed(b, frames[0]);
    feed(b, frames[1]);
    feed(b, frames[2]);
    const s = b.env.skb;
    s.ipvsProperty = true;
    const r = b.env.route;
    b.env.fib.lookup(4, new Uint32Array([IpAddr.parse('192.168.2.210').w0, 0, 0, 0]), 0, r);
    b.stack.output(r, b.env.hdr, 0, 0);
    const lens = b.sink.frames.map((f) => rd16(f.bytes, 16));
    expect(lens).to.deep.equal([620, 620, 20 + 1708 - 1200]);
    b.clearFrames();
    // fragments of 1480 bytes do not fit a 1000-byte link: slow path with 976-byte pieces
    const big = fragments4(2952, [1480]).frames;
    feed(b, big[0]);
    feed(b, big[1]);
    b.env.skb.ipvsProperty = true;
    b.stack.output(r, b.env.hdr, 0, 0);
    const sizes = b.sink.frames.map((f) => rd16(f.bytes, 16));
    expect(sizes).to.deep.equal([996, 996, 996, 20 + 2960 - 976 * 3]);
    const offs = b.sink.frames.map((f) => rd16(f.bytes, 20));
    expect(offs).to.deep.equal([0x2000, 0x2000 | 122, 0x2000 | 244, 366]);
    for (const f of b.sink.frames) expect(ipv4HeaderChecksumOk(f.bytes, 14)).to.equal(true);
  });
});

describe('stack/frag: IPv6 (nf_defrag_ipv6 and local reassembly)', () => {
  function fragments6(n: number, cuts: number[], id = 0x1234): Uint8Array[] {
    const payload = new Uint8Array(n).map((_, i) => i & 255);
    const base = ip6('2001:db8:39::10', '2001:db8:40::100');
    const whole = buildPacket([base, new UdpRepr({ sport: 7, dport: 9 })], payload);
    const data = whole.subarray(40);
    const bounds = [0, ...cuts, data.length];
    const out: Uint8Array[] = [];
    for (let k = 0; k < bounds.length - 1; k++) {
      const h = ip6('2001:db8:39::10', '2001:db8:40::100', {
        nextHeader: IpProto.UDP,
        extHeaders: [{ type: IpProto.FRAGMENT, fragOffset: bounds[k], mf: k < bounds.length - 2, ident: id }],
      }) as Ipv6Repr;
      out.push(frame([h], data.subarray(bounds[k], bounds[k + 1])));
    }
    return out;
  }

  it('defrag6 removes the fragment header and records the largest fragment', () => {
    const b = new Bench(LAB6);
    const f = fragments6(2000, [1232]);
    b.rx(f[0]);
    expect(b.stack.defrag6()).to.equal(false);
    b.done();
    b.rx(f[1]);
    expect(b.stack.defrag6()).to.equal(true);
    const s = b.env.skb;
    expect(s.len).to.equal(40 + 8 + 2000);
    expect(s.buf[s.l3 + 6]).to.equal(17);
    expect(s.fragMaxSize).to.equal(40 + 8 + 1232);
    expect(b.env.info.dport).to.equal(9);
  });

  it('a non-last fragment not a multiple of 8: kills the conntrack queue and passes unreassembled; local reassembly answers parameter problem', () => {
    const b = new Bench(LAB6);
    const f = fragments6(2000, [1230]);
    b.rx(f[0]);
    expect(b.stack.defrag6()).to.equal(true);
    expect(b.env.info.isFragment).to.equal(1);
    expect(b.stack.frag.queues).to.equal(0);
    expect(b.deliver(f[0]).reason).to.equal('fragment-bad');
    expect(b.sink.frames).to.have.length(1);
    const m = b.sink.frames[0].bytes;
    expect([m[54], m[55], rd32(m, 58)]).to.deep.equal([4, 0, 4]);
  });

  it('a first fragment without the whole TCP header: conntrack lets it through, local reassembly answers parameter problem code 3', () => {
    const b = new Bench(LAB6);
    const base = ip6('2001:db8:39::10', '2001:db8:40::100', {
      nextHeader: IpProto.TCP,
      extHeaders: [{ type: IpProto.FRAGMENT, fragOffset: 0, mf: true, ident: 5 }],
    }) as Ipv6Repr;
    const f = frame([base], new Uint8Array(16));
    b.rx(f);
    expect(b.stack.defrag6()).to.equal(true);
    expect(b.stack.frag.queues).to.equal(0);
    expect(b.deliver(f)).to.deep.equal({ fate: 'dropped', reason: 'fragment-bad' });
    const m = b.sink.frames[0].bytes;
    expect([m[54], m[55], rd32(m, 58)]).to.deep.equal([4, 3, 0]);
  });

  it('local delivery reassembles, then answers the datagram (port unreachable)', () => {
    const b = new Bench(LAB6);
    const f = fragments6(1500, [1232]);
    expect(b.deliver(f[0])).to.deep.equal({ fate: 'held', reason: 'none' });
    expect(b.deliver(f[1])).to.deep.equal({ fate: 'answered', reason: 'icmp-port-unreachable' });
    expect(b.env.fates.fates[1]).to.equal(2);
  });

  it('expires after 60 s with time exceeded (fragment reassembly) to the sender', () => {
    const b = new Bench(LAB6);
    const f = fragments6(2000, [1232]);
    b.deliver(f[0]);
    b.advance(59000);
    expect(b.sink.frames).to.have.length(0);
    b.advance(60001);
    const m = b.sink.frames[0].bytes;
    expect([m[54], m[55]]).to.deep.equal([3, 1]);
    // the quoted first fragment still has its fragment header
    expect(m[62 + 6]).to.equal(44);
  });

  it('re-fragments a reassembled datagram bigger than its largest fragment with a new identification', () => {
    const b = new Bench(LAB6);
    const f = fragments6(2000, [1232]);
    b.rx(f[0]);
    b.stack.defrag6();
    b.done();
    b.rx(f[1]);
    b.stack.defrag6();
    const r = b.env.route;
    b.env.fib.lookup(6, new Uint32Array([0x20010db8, 0x400000, 0, 2]), 0, r);
    b.env.skb.ipvsProperty = true;
    b.stack.output(r, b.env.hdr, 0, 0);
    expect(b.sink.frames.map((x) => x.bytes.length - 14)).to.deep.equal([40 + 8 + 1232, 40 + 8 + 776]);
    const g = b.sink.frames[1].bytes;
    expect(g[14 + 6]).to.equal(44);
    expect(rd16(g, 14 + 40 + 2)).to.equal(1232);
    void udp;
  });
});
