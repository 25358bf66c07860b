/**
 * The neighbour queue (arp_queue) and the ARP / ICMP details the
 * neigh-unresolved, arp-director and local-stack oracle scenarios showed.
 */
import { expect } from 'chai';
import { Bench, LAB, LAB6, frame, ip4, ip6, tcp, udp, text } from './helpers.js';
import { ArpRepr, EthernetRepr, buildFrame } from '../../../src/wire/repr.js';
import { IpAddr, readMac } from '../../../src/wire/addr.js';
import { rd16, rd32 } from '../../../src/wire/bytes.js';
import { isAddrOnLinkSameSubnet4 } from '../../../src/ipvs/stack/addrsel.js';
import { FibResult } from '../../../src/ipvs/fib.js';

const V = (s: string): number => IpAddr.parse(s).w0;
const RS_MAC = 0x020000000d99;

function arp(op: number, sha: number, spa: string, tha: number, tpa: string, dst: number): Uint8Array {
  return buildFrame(
    [
      new EthernetRepr({ src: sha, dst }),
      new ArpRepr({ op, sha, spa: IpAddr.parse(spa), tha, tpa: IpAddr.parse(tpa) }),
    ],
    undefined,
    { pad: false },
  );
}

/** A DR-like packet: from a client to the VIP, sent toward an unresolved real server. */
function toUnresolved(b: Bench, n: number): { fate: string; reason: string } {
  return b.forward(frame([ip4('192.168.1.10', '192.168.2.99', { ttl: 64 }), tcp(1000 + n, 80, 0x10)]));
}

describe('stack/neigh: packets waiting for a neighbour (arp_queue)', () => {
  it('queued packets are reported when resolution fails: ICMP host unreachable each, oldest first, from the route source', () => {
    const b = new Bench(LAB);
    toUnresolved(b, 1);
    toUnresolved(b, 2);
    toUnresolved(b, 3);
    expect(b.sink.frames).to.have.length(1); // the first probe
    b.advance(2999);
    expect(b.sink.frames).to.have.length(3); // three probes, nothing else yet
    b.advance(3000);
    const icmp = b.sink.frames.slice(3).map((f) => f.bytes);
    expect(icmp).to.have.length(3);
    for (let i = 0; i < 3; i++) {
      const f = icmp[i];
      expect(readMac(f, 0)).to.equal(0x020000000c01); // to the client
      expect(rd32(f, 26)).to.equal(V('192.168.1.1'));
      expect(rd32(f, 30)).to.equal(V('192.168.1.10'));
      expect([f[34], f[35]]).to.deep.equal([3, 1]);
      // the quoted packet as it was queued: TTL already decremented, its source port in order
      expect(f[42 + 8]).to.equal(63);
      expect(rd16(f, 62)).to.equal(1001 + i);
    }
    expect(b.stack.neigh.reported).to.equal(3);
  });

  it('the ICMP error about a queued packet to one of our addresses comes from the route, not from that address', () => {
    const b = new Bench(LAB);
    // a DR packet keeps the VIP as its destination while it waits for the real server
    b.rx(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(5, 80, 0x02)]));
    const route = new FibResult();
    expect(b.env.fib.lookup(4, new Uint32Array([V('192.168.2.99'), 0, 0, 0]), 0, route)).to.equal(true);
    b.stack.output(route, b.env.hdr, 0, 0);
    b.done();
    b.advance(3000);
    const f = b.sink.frames[b.sink.frames.length - 1].bytes;
    expect([f[34], f[35]]).to.deep.equal([3, 1]);
    expect(rd32(f, 26)).to.equal(V('192.168.1.1'));
  });

  it('an answer sends the queued packets to the learned MAC, in order, and nothing is reported', () => {
    const b = new Bench(LAB);
    toUnresolved(b, 1);
    toUnresolved(b, 2);
    b.rx(arp(2, RS_MAC, '192.168.2.99', 0x020000000201, '192.168.2.1', 0x020000000201), 1);
    b.stack.arpRcv(new Uint8Array(0), 0, 0, 1);
    b.done();
    const sent = b.sink.frames.slice(1).map((f) => f.bytes);
    expect(sent).to.have.length(2);
    expect(sent.map((f) => readMac(f, 0))).to.deep.equal([RS_MAC, RS_MAC]);
    expect(sent.map((f) => readMac(f, 6))).to.deep.equal([0x020000000201, 0x020000000201]);
    expect(sent.map((f) => rd16(f, 34))).to.deep.equal([1001, 1002]);
    b.advance(10000);
    expect(b.stack.neigh.reported).to.equal(0);
  });

  it('the queue holds unres_qlen_bytes of truesize: the oldest packets make room', () => {
    const b = new Bench(LAB);
    const big = new Uint8Array(1400);
    for (let i = 0; i < 200; i++)
      b.forward(frame([ip4('192.168.1.10', '192.168.2.99'), udp(2000 + i, 53)], big));
    expect(b.stack.neigh.overflowed).to.be.greaterThan(0);
    const kept = 200 - b.stack.neigh.overflowed;
    // a 1456-byte frame is charged a 2 KiB bucket + the sk_buff (truesizeOf): 212992 / 2304 = 92
    expect(kept).to.equal(92);
    b.advance(3000);
    // the ICMP rate limit lets the first six reports through; the first one quotes the oldest kept packet
    const icmp = b.sink.frames.filter((f) => f.bytes[23] === 1).map((f) => f.bytes);
    expect(icmp).to.have.length(6);
    expect(rd16(icmp[0], 62)).to.equal(2000 + 200 - kept);
  });

  it('the probe source is the newest queued packet source on every probe (arp_announce 0)', () => {
    const b = new Bench({ ...LAB, neigh: LAB.neigh?.filter((n) => n.addr !== '192.168.1.10') });
    // the director's own echo reply from the VIP to an unresolved host
    b.deliver(frame([ip4('192.168.1.10', '192.168.1.100'), tcp(1, 81, 0x02)]));
    b.advance(1000);
    b.advance(2000);
    const spa = b.sink.frames.filter((f) => f.bytes.length === 42).map((f) => rd32(f.bytes, 28));
    expect(spa).to.deep.equal([V('192.168.1.100'), V('192.168.1.100'), V('192.168.1.100')]);
  });

  it('IPv6: a queued packet is reported with ICMPv6 address unreachable from its destination when that is ours', () => {
    const b = new Bench(LAB6);
    b.forward(frame([ip6('2001:db8:39::10', '2001:db8:40::99'), tcp(1, 2, 0x10)], text('x')));
    b.advance(3000);
    const icmp = b.sink.frames.filter((f) => f.bytes[12] === 0x86 && f.bytes[20] === 58 && f.bytes[54] === 1);
    expect(icmp).to.have.length(1);
    expect(icmp[0].bytes[55]).to.equal(3);
  });
});

describe('stack/arp: arp_ignore 2 as confirm_addr_indev answers it', () => {
  it('a /32 address is confirmed to a sender in the subnet of another address of the link', () => {
    const b = new Bench(LAB);
    const fib = b.env.fib;
    // 192.168.1.100/32 and 192.168.1.1/24 on link 0
    expect(isAddrOnLinkSameSubnet4(fib, 0, V('192.168.1.100'), V('192.168.1.77'))).to.equal(true);
    expect(isAddrOnLinkSameSubnet4(fib, 0, V('192.168.1.100'), V('10.9.9.9'))).to.equal(false);
    expect(isAddrOnLinkSameSubnet4(fib, 1, V('192.168.1.100'), V('192.168.1.77'))).to.equal(false);
  });
});

describe('stack/icmp: the quoted header carries what the receive path wrote into its options', () => {
  it('record route: the receiving address in the next slot and the pointer moved on; checksum unchanged', () => {
    const b = new Bench(LAB);
    // RR option with room for 2 addresses: type 7, len 11, ptr 4, 8 zero bytes, END
    const opts = new Uint8Array([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const f = frame([ip4('192.168.1.10', '192.168.1.1', { options: opts }), udp(5, 9)], text('hello'));
    const ihl = (f[14] & 15) * 4;
    expect(ihl).to.equal(32);
    b.deliver(f);
    const out = b.sink.frames[0].bytes;
    const oihl = (out[14] & 15) * 4;
    const q = 14 + oihl + 8;
    expect(out[q + 22]).to.equal(8); // pointer moved on
    expect(rd32(out, q + 23)).to.equal(V('192.168.1.1'));
    expect(rd16(out, q + 10)).to.equal(rd16(f, 24)); // the quoted header checksum as received
  });
});

describe('stack/neigh: fates of frames whose packets wait for a neighbour', () => {
  it('a waiting packet holds its frame, released as forwarded when the neighbour answers, dropped when resolution fails', async () => {
    const { Bench, LAB, frame, ip4, tcp } = await import('./helpers.js');
    const { Fate, Reason, REASON_COUNT } = await import('../../../src/ipvs/verdict.js');
    const b = new Bench(LAB);
    const f = b.env.fates;
    // two packets to an unknown host: both frames held
    b.forward(frame([ip4('192.168.1.10', '192.168.2.99'), tcp(1, 2, 0x10)]));
    b.forward(frame([ip4('192.168.1.10', '192.168.2.98'), tcp(1, 2, 0x10)]));
    expect(f.fates[Fate.HELD]).to.equal(2);
    // resolution fails after the probes: both frames are dropped neighbour-unresolved
    b.advance(10000);
    expect(f.fates[Fate.HELD]).to.equal(0);
    expect(f.byReason[Fate.DROPPED * REASON_COUNT + Reason.NEIGHBOUR_UNRESOLVED]).to.equal(2);
  });
});
