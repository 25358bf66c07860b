/**
 * The host stack's answers compared byte for byte with what a real Linux 6.1
 * director sent (test/oracle/scenarios/*): each test feeds one of a
 * scenario's input frames to the stack part that handles it — as the
 * director does once IPVS has declined the packet (or, for the errors IPVS
 * raises, as its transmitter calls icmpSend) — and compares the frame
 * emitted with the golden one, masking only what compare.ts masks (the IP ID
 * of DF-clear packets the director originates, IPv6 flow labels).
 */
import { expect } from 'chai';
import path from 'node:path';
import { readPcap, compareFrames, type PcapFrame } from '../../oracle/compare.js';
import { Bench, type NetSpec } from './helpers.js';
import { ipv4DecTtl, update16, update32, ipv4HeaderChecksum } from '../../../src/wire/checksum.js';
import { Hook } from '../../../src/ipvs/hooks.js';
import { rd16, wr16, wr32 } from '../../../src/wire/bytes.js';
import { IpAddr } from '../../../src/wire/addr.js';

const SCEN = path.join(path.dirname(new URL(import.meta.url).pathname), '../../oracle/scenarios');

function pcap(scenario: string, file: string): PcapFrame[] {
  return readPcap(path.join(SCEN, scenario, file));
}

/** Compares the bench's emitted frames (in order) with golden frames. */
function same(b: Bench, expected: PcapFrame[]): string[] {
  const act = b.sink.frames.map((f) => ({ sec: 0, usec: 0, data: f.bytes }));
  return compareFrames(
    expected.map((e) => ({ sec: 0, usec: 0, data: e.data })),
    act,
  );
}

const EDGE_DR: NetSpec = {
  links: [
    { name: 'client', mac: '02:00:00:00:01:01', addrs: ['172.25.39.1/24', '172.25.40.100/32'] },
    { name: 'server', mac: '02:00:00:00:02:01', addrs: ['172.25.40.1/24'] },
  ],
  neigh: [
    { addr: '172.25.39.10', mac: '02:00:00:00:0c:01', dev: 'client' },
    { addr: '172.25.40.2', mac: '02:00:00:00:0d:02', dev: 'server' },
    { addr: '172.25.40.3', mac: '02:00:00:00:0d:03', dev: 'server' },
  ],
};

const EDGE_NAT: NetSpec = {
  links: [
    { name: 'client', mac: '02:00:00:00:01:01', addrs: ['192.168.1.1/24', '192.168.1.100/32'] },
    { name: 'server', mac: '02:00:00:00:02:01', addrs: ['192.168.2.1/24'] },
  ],
  neigh: [
    { addr: '192.168.1.10', mac: '02:00:00:00:0c:01', dev: 'client' },
    { addr: '192.168.2.210', mac: '02:00:00:00:0d:10', dev: 'server' },
  ],
  sysctl: { 'net.ipv4.ip_forward': '1' },
};

const DR_V6: NetSpec = {
  links: [
    { name: 'client', mac: '02:00:00:00:01:01', addrs: ['2001:db8:39::1/64', '2001:db8:40::100/128'] },
    { name: 'server', mac: '02:00:00:00:02:01', addrs: ['2001:db8:40::1/64'] },
  ],
  neigh: [
    { addr: '2001:db8:39::10', mac: '02:00:00:00:0c:01', dev: 'client' },
    { addr: '2001:db8:40::2', mac: '02:00:00:00:0d:02', dev: 'server' },
    { addr: '2001:db8:40::3', mac: '02:00:00:00:0d:03', dev: 'server' },
  ],
};

describe('host stack vs the oracle (golden frames of a Linux 6.1 director)', () => {
  describe('edge-dr', () => {
    const input = pcap('edge-dr', 'client.pcap');
    const out = pcap('edge-dr', 'expected/client.pcap');

    it('answers a SYN to a closed port with RST|ACK seq 0 ack seq+1, win 0, ID 0, DF, TTL 64, TOS 0', () => {
      const b = new Bench(EDGE_DR);
      expect(b.deliver(input[0].data)).to.deep.equal({ fate: 'answered', reason: 'tcp-reset' });
      expect(same(b, [out[0]])).to.deep.equal([]);
    });

    it('answers an ACK without connection with RST seq = its ack', () => {
      const b = new Bench(EDGE_DR);
      expect(b.deliver(input[1].data).reason).to.equal('tcp-reset');
      expect(same(b, [out[1]])).to.deep.equal([]);
    });

    it('sends time exceeded from the VIP quoting the whole TTL-1 SYN (TOS 0xc0, TTL 64, DF clear)', () => {
      const b = new Bench(EDGE_DR);
      b.rx(input[2].data);
      expect(b.stack.icmpSend(11, 0, 0)).to.equal(true);
      expect(same(b, [out[2]])).to.deep.equal([]);
    });

    it('answers UDP to a closed port with port unreachable quoting the datagram', () => {
      const b = new Bench(EDGE_DR);
      expect(b.deliver(input[5].data)).to.deep.equal({ fate: 'answered', reason: 'icmp-port-unreachable' });
      expect(same(b, [out[3]])).to.deep.equal([]);
    });

    it('answers an echo request (random ID, DF clear, TTL 64, TOS as the request)', () => {
      const b = new Bench(EDGE_DR);
      expect(b.deliver(input[11].data)).to.deep.equal({ fate: 'answered', reason: 'echo-reply' });
      expect(same(b, [out[4]])).to.deep.equal([]);
    });

    it('drops a SYN with a wrong TCP checksum to a closed port silently', () => {
      const b = new Bench(EDGE_DR);
      const f = input[4].data.slice();
      f[14 + 20 + 2] = 0; // port 80 -> 0x0050 -> 0x0000... keep the checksum wrong
      f[14 + 20 + 3] = 81;
      expect(b.deliver(f)).to.deep.equal({ fate: 'dropped', reason: 'l4-bad-checksum' });
      expect(b.sink.frames).to.have.length(0);
    });
  });

  describe('edge-nat', () => {
    const input = pcap('edge-nat', 'client.pcap');
    const sin = pcap('edge-nat', 'server.pcap');
    const out = pcap('edge-nat', 'expected/client.pcap');
    const sout = pcap('edge-nat', 'expected/server.pcap');

    it('answers SYN and ACK to closed ports with resets, and a RST with nothing', () => {
      const b = new Bench(EDGE_NAT);
      expect(b.deliver(input[0].data).reason).to.equal('tcp-reset');
      expect(b.deliver(input[1].data).reason).to.equal('tcp-reset');
      expect(b.deliver(input[2].data)).to.deep.equal({ fate: 'local', reason: 'tcp-reset-received' });
      expect(same(b, [out[0], out[1]])).to.deep.equal([]);
    });

    it('answers UDP port 54 with port unreachable and an echo request with data', () => {
      const b = new Bench(EDGE_NAT);
      b.deliver(input[3].data);
      b.deliver(input[4].data);
      expect(same(b, [out[2], out[3]])).to.deep.equal([]);
    });

    it('time exceeded for a TTL-1 SYN to the service', () => {
      const b = new Bench(EDGE_NAT);
      b.rx(input[6].data);
      b.stack.icmpSend(11, 0, 0);
      expect(same(b, [out[4]])).to.deep.equal([]);
    });

    it('routes a real server SYN-ACK of no connection to the client with TTL - 1', () => {
      const b = new Bench(EDGE_NAT);
      expect(b.forward(sin[1].data, 1)).to.deep.equal({ fate: 'forwarded', reason: 'none' });
      expect(same(b, [out[6]])).to.deep.equal([]);
      expect(b.hooks.calls).to.deep.equal([`fwdicmp${Hook.FORWARD}`, `out${Hook.FORWARD}`]);
    });

    it('reassembles the two fragments and re-fragments them with the same split and ID, TTL - 1', () => {
      const b = new Bench(EDGE_NAT);
      b.rx(input[10].data);
      expect(b.stack.gatherFrags(Hook.LOCAL_IN)).to.equal(false);
      expect(b.done()).to.deep.equal({ fate: 'held', reason: 'none' });
      b.rx(input[11].data);
      expect(b.stack.gatherFrags(Hook.LOCAL_IN)).to.equal(true);
      const env = b.env;
      expect(env.heldReleased).to.equal(1);
      expect(env.skb.len).to.equal(1608 + 20);
      expect(env.skb.fragMaxSize).to.equal(1500);
      expect(env.info.isFragment).to.equal(0);
      // what ip_vs_nat_xmit does to it: TTL - 1, destination -> the real server (port 53 -> 53)
      const s = env.skb;
      ipv4DecTtl(s.buf, s.l3);
      const rip = IpAddr.parse('192.168.2.210').w0;
      const vip = IpAddr.parse('192.168.1.100').w0;
      const u = env.info.l4Off;
      wr16(s.buf, u + 6, update32(rd16(s.buf, u + 6), vip, rip));
      void update16;
      wr32(s.buf, s.l3 + 16, rip);
      wr16(s.buf, s.l3 + 10, 0);
      wr16(s.buf, s.l3 + 10, ipv4HeaderChecksum(s.buf, s.l3));
      s.ipvsProperty = true;
      const r = env.route;
      env.fib.lookup(4, new Uint32Array([rip, 0, 0, 0]), 0, r);
      b.stack.output(r, env.hdr, 0, 0);
      env.forwarded();
      expect(b.done()).to.deep.equal({ fate: 'forwarded', reason: 'none' });
      expect(env.fates.fates[4]).to.equal(0); // nothing left held
      expect(env.fates.fates[0]).to.equal(2); // both frames forwarded
      expect(same(b, [sout[4], sout[5]])).to.deep.equal([]);
    });
  });

  describe('dr-rr-v6', () => {
    const input = pcap('dr-rr-v6', 'client.pcap');
    const out = pcap('dr-rr-v6', 'expected/client.pcap');

    it('hop limit 1: ICMPv6 time exceeded from the VIP, hop limit 64', () => {
      const b = new Bench(DR_V6);
      b.rx(input[5].data);
      expect(b.stack.icmpSend(3, 0, 0)).to.equal(true);
      expect(same(b, [out[0]])).to.deep.equal([]);
    });

    it('SYN to a closed port: RST|ACK from the VIP', () => {
      const b = new Bench(DR_V6);
      expect(b.deliver(input[6].data).reason).to.equal('tcp-reset');
      expect(same(b, [out[1]])).to.deep.equal([]);
    });

    it('echo request: echo reply from the VIP', () => {
      const b = new Bench(DR_V6);
      expect(b.deliver(input[7].data).reason).to.equal('echo-reply');
      expect(same(b, [out[2]])).to.deep.equal([]);
    });
  });

  describe('tun-sh and tun-v6', () => {
    it('frag-needed mtu 1480 from the VIP quoting 548 bytes of the segment after its TTL decrement', () => {
      const b = new Bench({
        links: [
          { name: 'client', mac: '02:00:00:00:01:01', addrs: ['172.25.83.1/24', '172.25.84.100/32'] },
          { name: 'server', mac: '02:00:00:00:02:01', addrs: ['172.25.84.1/24'] },
        ],
        neigh: [{ addr: '172.25.83.254', mac: '02:00:00:00:0e:01', dev: 'client' }],
        routes: [{ prefix: '0.0.0.0/0', via: '172.25.83.254' }],
      });
      const input = pcap('tun-sh', 'client.pcap');
      const out = pcap('tun-sh', 'expected/client.pcap');
      b.rx(input[12].data);
      ipv4DecTtl(b.env.skb.buf, b.env.skb.l3);
      expect(b.stack.icmpSend(3, 4, 1480)).to.equal(true);
      expect(same(b, [out[0]])).to.deep.equal([]);
    });

    it('packet too big mtu 1460 from the VIP, 1240 bytes of ICMPv6', () => {
      const b = new Bench({
        links: [
          { name: 'client', mac: '02:00:00:00:01:01', addrs: ['2001:db8:37::1/64', '2001:db8:37::80/128'] },
          { name: 'server', mac: '02:00:00:00:02:01', addrs: ['2001:db8:3700::1/64'] },
        ],
        neigh: [{ addr: '2001:db8:37::fe', mac: '02:00:00:00:0e:01', dev: 'client' }],
        routes: [{ prefix: '::/0', via: '2001:db8:37::fe' }],
      });
      const input = pcap('tun-v6', 'client.pcap');
      const out = pcap('tun-v6', 'expected/client.pcap');
      b.rx(input[15].data);
      b.env.skb.buf[b.env.skb.l3 + 7]--;
      expect(b.stack.icmpSend(2, 0, 1460)).to.equal(true);
      expect(same(b, [out[0]])).to.deep.equal([]);
    });
  });

  describe('sched-sh', () => {
    it('port unreachable for a SYN with no destination (ip_vs_leave): TOS 0xc0, the whole SYN quoted', () => {
      const b = new Bench({
        links: [
          { name: 'client', mac: '02:00:00:00:01:01', addrs: ['10.20.0.1/24', '10.20.0.100/32'] },
          { name: 'server', mac: '02:00:00:00:02:01', addrs: ['10.21.0.1/24'] },
        ],
        neigh: [{ addr: '10.20.0.254', mac: '02:00:00:00:0e:01', dev: 'client' }],
        routes: [{ prefix: '0.0.0.0/0', via: '10.20.0.254' }],
      });
      const out = pcap('sched-sh', 'expected/client.pcap');
      const input = pcap('sched-sh', 'client.pcap');
      // the first output answers the input frame it is attributed to
      const idx = out[0].usec === 1 ? 0 : -1;
      expect(idx).to.equal(0);
      b.rx(input[0].data);
      expect(b.stack.icmpSend(3, 3, 0)).to.equal(true);
      expect(same(b, [out[0]])).to.deep.equal([]);
    });
  });
});
