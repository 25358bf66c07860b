import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, tcp, udp } from './helpers.js';
import { IpAddr, readMac } from '../../../src/wire/addr.js';
import { rd16 } from '../../../src/wire/bytes.js';
import { FibResult } from '../../../src/ipvs/fib.js';
import { NullSink } from '../../../src/ipvs/env.js';
import { parseFrame } from '../../../src/wire/parse.js';

const RS = new Uint32Array([IpAddr.parse('192.168.2.210').w0, 0, 0, 0]);

function routeTo(b: Bench, a: Uint32Array, af = 4): FibResult {
  const r = new FibResult();
  b.env.fib.lookup(af, a, 0, r);
  return r;
}

describe('stack/output: neighbour output', () => {
  it('writes the Ethernet header in front of the packet as it lies (two-part frame)', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 80, 2)]);
    b.rx(f);
    b.stack.output(routeTo(b, RS), b.env.hdr, 0, 0);
    const g = b.sink.frames[0];
    expect(g.link).to.equal(1);
    expect(readMac(g.bytes, 0)).to.equal(0x020000000d10);
    expect(readMac(g.bytes, 6)).to.equal(0x020000000201);
    expect(rd16(g.bytes, 12)).to.equal(0x0800);
    expect(Array.from(g.bytes.subarray(14))).to.deep.equal(Array.from(f.subarray(14)));
  });

  it('headers in front (a tunnel): Ethernet written into the 14 bytes before them', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 80, 2)]);
    b.rx(f);
    const h = b.env.hdr;
    h.fill(0xee, 14, 34);
    h[14] = 0x45;
    b.stack.output(routeTo(b, RS), h, 14, 20);
    const g = b.sink.frames[0];
    expect(g.bytes.length).to.equal(14 + 20 + f.length - 14);
    expect(rd16(g.bytes, 12)).to.equal(0x0800);
    expect(g.bytes[15]).to.equal(0xee);
    expect(g.origLen).to.equal(g.bytes.length);
  });

  it('a truncated capture: the frame holds what was captured, its wire length what the packet says', () => {
    const b = new Bench(LAB);
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 80)], new Uint8Array(1000));
    const cut = f.subarray(0, 100);
    b.env.fate = -1;
    b.env.info.clear();
    // as Director.receive does with caplen 100 < len
    parseFrame(cut, 0, 100, f.length, b.env.info);
    b.env.skb.set(cut, 14, b.env.info.ipTotalLen, 86, 4);
    b.env.skb.inLink = 0;
    b.stack.output(routeTo(b, RS), b.env.hdr, 0, 0);
    const g = b.sink.frames[0];
    expect(g.bytes.length).to.equal(100);
    expect(g.origLen).to.equal(f.length);
  });

  it('DF and too big (not an IPVS packet): fragmentation needed and drop; ignore_df (IPVS) fragments', () => {
    const b = new Bench({ ...LAB, links: [LAB.links[0], { ...LAB.links[1], mtu: 600 }] });
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 80)], new Uint8Array(1000));
    b.rx(f);
    b.stack.output(routeTo(b, RS), b.env.hdr, 0, 0);
    expect(b.done().reason).to.equal('fragmentation-needed');
    expect(b.sink.frames[0].bytes[34]).to.equal(3);
    b.clearFrames();
    b.rx(f);
    b.env.skb.ipvsProperty = true;
    b.stack.output(routeTo(b, RS), b.env.hdr, 0, 0);
    expect(b.sink.frames.map((x) => rd16(x.bytes, 16))).to.deep.equal([596, 20 + 1008 - 576]);
    // DF is not kept on the fragments of a packet that was not reassembled
    expect(b.sink.frames.map((x) => x.bytes[20] & 0x40)).to.deep.equal([0, 0]);
  });

  it('allocates nothing when forwarding a frame to a resolved neighbour (hot path)', () => {
    const b = new Bench(LAB);
    b.env.sink = new NullSink();
    const f = frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 80, 2)]);
    const r = routeTo(b, RS);
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) {
        b.env.skb.set(f, 14, f.length - 14, f.length - 14, 4);
        b.stack.output(r, b.env.hdr, 0, 0);
      }
    };
    // warm up until the JIT has optimised the path (unoptimised code boxes numbers),
    // then take the smallest heap growth of a few rounds: GC timing and background
    // compilation add noise to any single round, a per-frame allocation shows in all
    run(100000);
    const gc = (globalThis as { gc?: () => void }).gc;
    let grew = Infinity;
    for (let round = 0; round < 5 && grew >= 3_000_000; round++) {
      if (gc) gc();
      const before = process.memoryUsage().heapUsed;
      run(200000);
      grew = Math.min(grew, process.memoryUsage().heapUsed - before);
    }
    // 200k frames: a per-frame allocation of even 16 bytes would show up as > 3 MB
    expect(grew).to.be.lessThan(3_000_000);
  });
});

describe('stack/pmtu: path MTU exceptions', () => {
  it('learns a lower MTU, ignores a higher one, expires after 600 s', () => {
    const b = new Bench(LAB);
    const r = routeTo(b, RS);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(1500);
    b.stack.updatePmtu(4, RS, 0, 1400);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(1400);
    b.stack.updatePmtu(4, RS, 0, 1450);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(1400);
    b.advance(599_999);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(1400);
    b.advance(600_000);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(1500);
  });

  it('below min_pmtu (552): 552, locked against later updates', () => {
    const b = new Bench(LAB);
    const r = routeTo(b, RS);
    b.stack.updatePmtu(4, RS, 0, 300);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(552);
    b.stack.updatePmtu(4, RS, 0, 500);
    expect(b.stack.pathMtu(4, RS, 0, r)).to.equal(552);
  });

  it('IPv6: never below 1280', () => {
    const b = new Bench(LAB6);
    const a = new Uint32Array([0x20010db8, 0x400000, 0, 2]);
    const r = routeTo(b, a, 6);
    b.stack.updatePmtu(6, a, 0, 1000);
    expect(b.stack.pathMtu(6, a, 0, r)).to.equal(1280);
    b.stack.updatePmtu(6, a, 0, 1400);
    expect(b.stack.pathMtu(6, a, 0, r)).to.equal(1280);
  });

  it('the learned MTU limits what the director itself sends (ICMP room) but not forwarded packets', () => {
    const b = new Bench({ ...LAB, links: [{ ...LAB.links[0] }, LAB.links[1]] });
    const client = new Uint32Array([IpAddr.parse('192.168.1.10').w0, 0, 0, 0]);
    b.stack.updatePmtu(4, client, 0, 560);
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100'), udp(1, 9)], new Uint8Array(1000)));
    b.stack.icmpSend(3, 3, 0);
    expect(rd16(b.sink.frames[0].bytes, 16)).to.equal(560);
    b.clearFrames();
    b.stack.updatePmtu(4, RS, 0, 600);
    expect(
      b.forward(frame([ip4('192.168.1.10', '192.168.2.210', { df: false }), udp(1, 9)], new Uint8Array(1000)))
        .fate,
    ).to.equal('forwarded');
    expect(b.sink.frames).to.have.length(1);
  });
});
