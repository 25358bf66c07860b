/**
 * A packet to the VIP with IPv4 options: the kernel's ip_rcv_options writes
 * the receiving address (the VIP) into a record-route slot of the packet
 * itself, and IPVS forwards it so changed, its header checksum recomputed.
 */
import { expect } from 'chai';
import { Director } from '../../src/ipvs/director.js';
import { parseSetup, applySetup } from '../../src/control/setup.js';
import { buildFrame, EthernetRepr, Ipv4Repr, TcpRepr } from '../../src/wire/repr.js';
import { IpAddr } from '../../src/wire/addr.js';
import { ipv4HeaderChecksumOk } from '../../src/wire/checksum.js';
import { rd32 } from '../../src/wire/bytes.js';
import type { FrameSink } from '../../src/ipvs/env.js';

const SETUP = `
ip link set eth0 address 02:00:00:00:01:01
ip addr add 10.0.0.1/24 dev eth0
ip addr add 10.0.0.100/32 dev eth0
ip neigh add 10.0.0.2 lladdr 02:00:00:00:01:02 dev eth0
ip neigh add 10.0.0.9 lladdr 02:00:00:00:01:09 dev eth0
ipvsadm -A -t 10.0.0.100:80 -s rr
ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.2:80 -g
`;

class Capture implements FrameSink {
  frames: Uint8Array[] = [];
  emit(_l: number, h: Uint8Array, ho: number, hl: number, b: Uint8Array, bo: number, bl: number): void {
    const f = new Uint8Array(hl + bl);
    f.set(h.subarray(ho, ho + hl), 0);
    f.set(b.subarray(bo, bo + bl), hl);
    this.frames.push(f);
  }
}

function director(sink: FrameSink): Director {
  const d = new Director({ sink });
  applySetup(parseSetup(SETUP, { file: 'setup' }), d);
  d.configChanged();
  return d;
}

function syn(options: Uint8Array): Uint8Array {
  return buildFrame([
    new EthernetRepr({ dst: 0x020000000101, src: 0x020000000109 }),
    new Ipv4Repr({
      src: IpAddr.parse('10.0.0.9'),
      dst: IpAddr.parse('10.0.0.100'),
      ttl: 64,
      options,
    } as never),
    new TcpRepr({ sport: 40000, dport: 80, flags: 0x02 } as never),
  ] as never);
}

describe('IPVS forwards the options as ip_rcv_options left them', () => {
  it('DR: the record-route slot gets the VIP, the pointer moves on, the checksum is recomputed', () => {
    const sink = new Capture();
    const d = director(sink);
    // RR, length 11, pointer 4 (first slot free), two slots, then END
    const rr = Uint8Array.from([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const f = syn(rr);
    d.receive(0, f, 0, f.length, f.length);
    expect(sink.frames).to.have.length(1);
    const out = sink.frames[0];
    expect(out[14 + 22]).to.equal(8); // pointer advanced by 4
    expect(rd32(out, 14 + 23)).to.equal(IpAddr.parse('10.0.0.100').w0); // the VIP recorded
    expect(rd32(out, 14 + 27)).to.equal(0); // second slot still free
    expect(out[14 + 8]).to.equal(63);
    expect(ipv4HeaderChecksumOk(out, 14)).to.equal(true);
  });

  it('DR without options: only the MACs, TTL and checksum change', () => {
    const sink = new Capture();
    const d = director(sink);
    const f = syn(new Uint8Array(0));
    const before = Uint8Array.from(f);
    d.receive(0, f, 0, f.length, f.length);
    const out = sink.frames[0];
    const diff: number[] = [];
    for (let i = 12; i < out.length; i++) if (out[i] !== before[i]) diff.push(i);
    expect(diff).to.include(14 + 8);
    for (const i of diff) expect([14 + 8, 14 + 10, 14 + 11]).to.include(i);
    expect(ipv4HeaderChecksumOk(out, 14)).to.equal(true);
  });
});
