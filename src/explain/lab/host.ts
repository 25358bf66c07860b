/**
 * A small model of a Linux host for the lab — the client, the real servers
 * and the NAT lab's router; the director is the real Director
 * (director_node.ts). IPv4 only. It models what the LVS guides talk about:
 *
 * - interfaces with addresses, plus addresses on `lo` and on the IPIP
 *   fallback device `tunl0`, all local (Linux's weak host model: a packet to
 *   any local address is accepted on any interface);
 * - connected routes and a default route; source address selection;
 * - ARP (net/ipv4/arp.c): a request for a local address is answered per
 *   `arp_ignore` (0: any local address, the VIP on lo included; 1: only an
 *   address configured on the interface the request came in on; 2: … and the
 *   sender in its subnet; 8: never) and teaches the host the requester's
 *   MAC; the sender address of the host's own requests follows
 *   `arp_announce` (0: the packet's source if it is an address of the
 *   outgoing interface; 1: … and in the target's subnet; 2: always the
 *   interface's best address for the target); replies and requests update
 *   an existing entry, except that within `locktime` (1 s) of its last update
 *   a different MAC is not taken: the first of several replies wins;
 * - reverse-path filtering (`rp_filter` 1: the route back to the source must
 *   leave by the interface the packet came in on; 2: any route will do);
 * - IPIP decapsulation on tunl0 (ipip.c: the inner packet is received again
 *   as if it came in on tunl0, rp_filter included);
 * - forwarding (`ip_forward`, TTL decrement);
 * - ICMP fragmentation needed: the path MTU toward the quoted destination is
 *   lowered and TCP is told (tcp_v4_err → tcp_v4_mtu_reduced);
 * - TCP through tcp.ts.
 *
 * Not on any hot path: it allocates freely.
 */
import { IpAddr, macToString, readMac, writeMac } from '../../wire/addr.js';
import { rd16, rd32, wr16 } from '../../wire/bytes.js';
import { ipv4HeaderChecksum } from '../../wire/checksum.js';
import { ArpRepr, EthernetRepr, buildFrame } from '../../wire/repr.js';
import type { Rng } from '../../ipvs/env.js';
import type { Nic, Sim, Switch } from './net.js';
import { TcpStack } from './tcp.js';

/** neigh locktime (/proc/sys/net/ipv4/neigh/DEV/locktime, 1 s). */
const LOCKTIME_MS = 1000;
/** ARP retransmission interval (retrans_time_ms) and probes before giving up (mcast_solicit). */
const ARP_RETRANS_MS = 1000;
const ARP_PROBES = 3;

const BROADCAST = 0xffffffffffff;

export interface HostIfConfig {
  name: string;
  mac: number;
  /** `ADDR/PLEN` strings. */
  addrs: string[];
  mtu?: number;
}

export interface HostConfig {
  name: string;
  /** Role shown in the lab header (client, real server, router). */
  role: string;
  ifaces: HostIfConfig[];
  /** Addresses on lo (`ip addr add VIP/32 dev lo`). */
  lo?: string[];
  /** Addresses on tunl0 (`ip addr add VIP/32 dev tunl0`): tunl0 up, IPIP decapsulation on. */
  tunl0?: string[];
  /** Default gateway. */
  defaultVia?: string | null;
  arpIgnore?: number;
  arpAnnounce?: number;
  rpFilter?: number;
  ipForward?: boolean;
}

interface Addr {
  addr: number;
  plen: number;
}

export class HostIf implements Nic {
  readonly host: string;
  readonly name: string;
  readonly mac: number;
  readonly addrs: Addr[];
  readonly mtu: number;
  sw: Switch | null = null;
  private readonly owner: LabHost;

  constructor(owner: LabHost, cfg: HostIfConfig) {
    this.owner = owner;
    this.host = owner.name;
    this.name = cfg.name;
    this.mac = cfg.mac;
    this.addrs = cfg.addrs.map(parseCidr);
    this.mtu = cfg.mtu ?? 1500;
  }

  receive(frame: Uint8Array): void {
    this.owner.receive(this, frame);
  }

  send(frame: Uint8Array): void {
    if (this.sw) this.sw.send(this, frame);
  }
}

function parseCidr(s: string): Addr {
  const [a, p] = s.split('/');
  return { addr: IpAddr.parse(a).w0, plen: p === undefined ? 32 : Number(p) };
}

function maskOf(plen: number): number {
  return plen === 0 ? 0 : (~0 << (32 - plen)) >>> 0;
}

function sameNet(a: number, b: number, plen: number): boolean {
  const m = maskOf(plen);
  return (a & m) >>> 0 === (b & m) >>> 0;
}

export function ip4(w: number): string {
  return IpAddr.fromWords(4, [w, 0, 0, 0]).toString();
}

interface NeighEntry {
  mac: number;
  /** incomplete (resolving), reachable (confirmed by a reply), stale (learned from a request). */
  state: 'incomplete' | 'reachable' | 'stale';
  updated: number;
  probes: number;
  ifc: HostIf;
  queue: Uint8Array[];
}

/** A route lookup result. */
export interface HostRoute {
  ifc: HostIf;
  nextHop: number;
  /** Preferred source address. */
  src: number;
}

export type NoteSink = (host: string, text: string) => void;

export class LabHost {
  readonly name: string;
  readonly role: string;
  readonly ifaces: HostIf[];
  readonly lo: number[];
  readonly tunl0: number[];
  readonly defaultVia: number | null;
  readonly arpIgnore: number;
  readonly arpAnnounce: number;
  readonly rpFilter: number;
  readonly ipForward: boolean;
  readonly tcp: TcpStack;
  readonly sim: Sim;
  private readonly rng: Rng;
  private readonly note: NoteSink;
  private readonly neigh = new Map<number, NeighEntry>();
  /** Learned path MTUs (ICMP fragmentation needed) per destination. */
  private readonly pmtu = new Map<number, number>();
  private ipId: number;
  /** The first decapsulation was noted (the later ones are alike). */
  private decapNoted = false;

  constructor(cfg: HostConfig, sim: Sim, rng: Rng, note: NoteSink) {
    this.name = cfg.name;
    this.role = cfg.role;
    this.sim = sim;
    this.rng = rng;
    this.note = note;
    this.ifaces = cfg.ifaces.map((c) => new HostIf(this, c));
    this.lo = (cfg.lo ?? []).map((s) => parseCidr(s).addr);
    this.tunl0 = (cfg.tunl0 ?? []).map((s) => parseCidr(s).addr);
    this.defaultVia = cfg.defaultVia ? IpAddr.parse(cfg.defaultVia).w0 : null;
    this.arpIgnore = cfg.arpIgnore ?? 0;
    this.arpAnnounce = cfg.arpAnnounce ?? 0;
    this.rpFilter = cfg.rpFilter ?? 0;
    this.ipForward = cfg.ipForward ?? false;
    this.ipId = (this.name.length * 0x1111 + 0x2000) & 0xffff;
    this.tcp = new TcpStack(this);
  }

  /** Writes a note into the lab's log (what the host decided and why). */
  log(text: string): void {
    this.note(this.name, text);
  }

  /** The host's first address (for headings). */
  get primary(): number {
    return this.ifaces[0].addrs[0].addr;
  }

  hasTunnel(): boolean {
    return this.tunl0.length > 0;
  }

  /** Where a local address lives: an interface name, `lo`, `tunl0`, or null when not local. */
  whereLocal(a: number): string | null {
    for (const i of this.ifaces) if (i.addrs.some((x) => x.addr === a)) return i.name;
    if (this.lo.includes(a)) return 'lo';
    if (this.tunl0.includes(a)) return 'tunl0';
    return null;
  }

  isLocal(a: number): boolean {
    return this.whereLocal(a) !== null;
  }

  // ------------------------------------------------------------------ routes

  /** fib_lookup: connected subnets (longest prefix), then the default route. */
  route(dst: number): HostRoute | null {
    let best: { ifc: HostIf; a: Addr } | null = null;
    for (const ifc of this.ifaces)
      for (const a of ifc.addrs)
        if (a.plen < 32 && sameNet(dst, a.addr, a.plen) && (!best || a.plen > best.a.plen)) best = { ifc, a };
    if (best) return { ifc: best.ifc, nextHop: dst, src: best.a.addr };
    if (this.defaultVia !== null) {
      const gw = this.defaultVia;
      for (const ifc of this.ifaces)
        for (const a of ifc.addrs)
          if (a.plen < 32 && sameNet(gw, a.addr, a.plen)) return { ifc, nextHop: gw, src: a.addr };
    }
    return null;
  }

  /** Path MTU toward `dst` through `ifc`. */
  pathMtu(dst: number, ifc: HostIf): number {
    return Math.min(ifc.mtu, this.pmtu.get(dst) ?? Infinity);
  }

  // ------------------------------------------------------------------ input

  receive(ifc: HostIf, frame: Uint8Array): void {
    if (frame.length < 14) return;
    const dmac = readMac(frame, 0);
    if (dmac !== ifc.mac && dmac !== BROADCAST) return; // not for this interface's MAC
    const type = rd16(frame, 12);
    if (type === 0x0806) this.arpRcv(ifc, frame);
    else if (type === 0x0800) this.ipRcv(ifc.name, frame.slice(14));
  }

  private arpRcv(ifc: HostIf, frame: Uint8Array): void {
    let arp: ArpRepr;
    try {
      arp = ArpRepr.parse(frame, 14, frame.length);
    } catch {
      return;
    }
    const sip = arp.spa.w0;
    const tip = arp.tpa.w0;
    if (arp.op === 1 && sip !== 0) {
      const where = this.whereLocal(tip);
      if (where !== null) {
        const ignore = this.ignoreArp(ifc, sip, tip);
        if (ignore) {
          this.log(
            `does not answer ARP for ${ip4(tip)} (arp_ignore=${this.arpIgnore}: ${ip4(tip)} is on ${where}, not on ${ifc.name})`,
          );
          return;
        }
        // neigh_event_ns: the requester is learned
        this.learn(ifc, sip, arp.sha, 'stale', false);
        const reply = buildFrame(
          [
            new EthernetRepr({ dst: arp.sha, src: ifc.mac }),
            new ArpRepr({ op: 2, sha: ifc.mac, spa: arp.tpa, tha: arp.sha, tpa: arp.spa }),
          ],
          undefined,
          { pad: false },
        );
        const why =
          where === ifc.name
            ? ''
            : ` (arp_ignore=${this.arpIgnore}: any local address is answered, ${ip4(tip)} is on ${where})`;
        this.log(`answers ARP: ${ip4(tip)} is at ${macToString(ifc.mac)}${why}`);
        this.sim.after(arpDelay(this.rng), () => ifc.send(reply));
        return;
      }
    }
    // not for us: only an existing entry is updated
    const e = this.neigh.get(sip);
    if (e) this.learn(ifc, sip, arp.sha, arp.op === 2 ? 'reachable' : 'stale', arp.op === 2);
  }

  private ignoreArp(ifc: HostIf, sip: number, tip: number): boolean {
    const onIf = ifc.addrs.find((a) => a.addr === tip);
    switch (this.arpIgnore) {
      case 0:
        return false;
      case 1:
        return !onIf;
      case 2:
        return !onIf || !sameNet(sip, tip, onIf.plen);
      case 8:
        return true;
      default:
        return false;
    }
  }

  /** neigh_update: creates or updates the entry for `ip`, honouring locktime for a different MAC. */
  private learn(ifc: HostIf, ip: number, mac: number, state: 'reachable' | 'stale', reply: boolean): void {
    const e = this.neigh.get(ip);
    if (!e) {
      this.neigh.set(ip, { mac, state, updated: this.sim.now, probes: 0, ifc, queue: [] });
      return;
    }
    if (e.state !== 'incomplete' && e.mac !== mac) {
      if (this.sim.now < e.updated + LOCKTIME_MS) {
        if (reply)
          this.log(
            `ignores the later ARP reply ${ip4(ip)} is at ${macToString(mac)}: it keeps ${macToString(e.mac)} (the first reply wins for locktime, 1 s)`,
          );
        return;
      }
      this.log(`ARP entry ${ip4(ip)} changes from ${macToString(e.mac)} to ${macToString(mac)}`);
    }
    const was = e.state;
    e.mac = mac;
    e.state = state;
    e.updated = this.sim.now;
    if (was === 'incomplete') {
      if (reply) this.log(`learns from the ARP reply: ${ip4(ip)} is at ${macToString(mac)}`);
      const q = e.queue;
      e.queue = [];
      for (const pkt of q) this.sendFrame(e.ifc, mac, pkt);
    }
  }

  /** The MAC the host has for `ip`, or null. */
  neighbour(ip: number): number | null {
    const e = this.neigh.get(ip);
    return e && e.state !== 'incomplete' ? e.mac : null;
  }

  private ipRcv(inIf: string, pkt: Uint8Array): void {
    if (pkt.length < 20 || pkt[0] >> 4 !== 4) return;
    const ihl = (pkt[0] & 15) * 4;
    const total = Math.min(rd16(pkt, 2), pkt.length);
    pkt = pkt.subarray(0, total);
    const src = rd32(pkt, 12);
    const dst = rd32(pkt, 16);
    const proto = pkt[9];
    if (this.isLocal(dst)) {
      if (!this.rpCheck(inIf, src)) return;
      const payload = pkt.subarray(ihl);
      if (proto === 4) {
        if (!this.hasTunnel()) {
          this.log(`drops an IPIP packet: no tunnel device (tunl0 is down)`);
          return;
        }
        if (payload.length >= 20) {
          if (!this.decapNoted)
            this.log(
              `decapsulates the IPIP packet from ${ip4(src)}: the inner packet ${ip4(rd32(payload, 12))} → ${ip4(rd32(payload, 16))} is received on tunl0 (and so on for every tunnelled packet)`,
            );
          this.decapNoted = true;
          this.ipRcv('tunl0', payload.slice());
        }
        return;
      }
      if (proto === 6) this.tcp.input(src, dst, payload, inIf);
      else if (proto === 1) this.icmpRcv(payload);
      return;
    }
    if (!this.ipForward) return;
    this.forward(pkt);
  }

  /** fib_validate_source with rp_filter. */
  private rpCheck(inIf: string, src: number): boolean {
    if (this.rpFilter === 0) return true;
    const r = this.route(src);
    if (!r) {
      this.log(`drops a packet from ${ip4(src)}: no route back to it (rp_filter=${this.rpFilter})`);
      return false;
    }
    if (this.rpFilter === 1 && r.ifc.name !== inIf) {
      this.log(
        `drops the packet from ${ip4(src)} that came in on ${inIf}: the route back to ${ip4(src)} leaves by ${r.ifc.name} (rp_filter=1, strict reverse-path check)`,
      );
      return false;
    }
    return true;
  }

  private icmpRcv(icmp: Uint8Array): void {
    if (icmp.length < 8 + 20) return;
    const type = icmp[0];
    const code = icmp[1];
    if (type === 3 && code === 4) {
      const mtu = rd16(icmp, 6);
      const q = icmp.subarray(8);
      const qdst = rd32(q, 16);
      const old = this.pmtu.get(qdst);
      if (old === undefined || mtu < old) this.pmtu.set(qdst, mtu);
      this.log(`learns the path MTU ${mtu} toward ${ip4(qdst)} (ICMP fragmentation needed)`);
      if (q[9] === 6) {
        const qihl = (q[0] & 15) * 4;
        if (q.length >= qihl + 4) this.tcp.mtuReduced(rd32(q, 12), rd16(q, qihl), qdst, rd16(q, qihl + 2));
      }
    }
  }

  private forward(pkt: Uint8Array): void {
    const p = pkt.slice();
    if (p[8] <= 1) return;
    p[8]--;
    wr16(p, 10, 0);
    wr16(p, 10, ipv4HeaderChecksum(p, 0));
    const dst = rd32(p, 16);
    const r = this.route(dst);
    if (!r) return;
    this.resolveAndSend(r, p);
  }

  // ------------------------------------------------------------------ output

  /** A fresh IP ID for a packet this host originates. */
  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /** ip_local_out + ip_finish_output: routes an IP packet this host made; false when there is no route. */
  output(pkt: Uint8Array): boolean {
    const dst = rd32(pkt, 16);
    const r = this.route(dst);
    if (!r) return false;
    this.resolveAndSend(r, pkt);
    return true;
  }

  private resolveAndSend(r: HostRoute, pkt: Uint8Array): void {
    const e = this.neigh.get(r.nextHop);
    if (e && e.state !== 'incomplete') {
      this.sendFrame(r.ifc, e.mac, pkt);
      return;
    }
    if (e) {
      e.queue.push(pkt);
      return;
    }
    const ne: NeighEntry = {
      mac: 0,
      state: 'incomplete',
      updated: this.sim.now,
      probes: 0,
      ifc: r.ifc,
      queue: [pkt],
    };
    this.neigh.set(r.nextHop, ne);
    this.solicit(r.nextHop, ne, rd32(pkt, 12));
  }

  /** arp_solicit: the request's sender address per arp_announce. */
  private solicit(target: number, e: NeighEntry, pktSrc: number): void {
    const ifc = e.ifc;
    let sip = 0;
    const onIf = ifc.addrs.find((a) => a.addr === pktSrc);
    if (this.arpAnnounce === 0 && onIf) sip = pktSrc;
    else if (this.arpAnnounce === 1 && onIf && sameNet(target, pktSrc, onIf.plen)) sip = pktSrc;
    if (sip === 0) {
      const best = ifc.addrs.find((a) => a.plen < 32 && sameNet(target, a.addr, a.plen)) ?? ifc.addrs[0];
      sip = best ? best.addr : 0;
      const where = this.whereLocal(pktSrc);
      if (where && where !== ifc.name && pktSrc !== sip)
        this.log(
          `asks ARP for ${ip4(target)} from ${ip4(sip)}, not from the packet's source ${ip4(pktSrc)} (on ${where}): arp_announce=${this.arpAnnounce}${this.arpAnnounce === 0 ? ', and 6.1 only announces an address of the outgoing interface' : ''}`,
        );
    }
    e.probes++;
    const req = buildFrame(
      [
        new EthernetRepr({ dst: BROADCAST, src: ifc.mac }),
        new ArpRepr({ op: 1, sha: ifc.mac, spa: new IpAddr(4, sip), tha: 0, tpa: new IpAddr(4, target) }),
      ],
      undefined,
      { pad: false },
    );
    ifc.send(req);
    this.sim.after(ARP_RETRANS_MS, () => {
      if (this.neigh.get(target) !== e || e.state !== 'incomplete') return;
      if (e.probes >= ARP_PROBES) {
        this.neigh.delete(target);
        this.log(`gives up resolving ${ip4(target)}: no ARP reply after ${ARP_PROBES} requests`);
        return;
      }
      this.solicit(target, e, pktSrc);
    });
  }

  private sendFrame(ifc: HostIf, mac: number, pkt: Uint8Array): void {
    const frame = new Uint8Array(14 + pkt.length);
    writeMac(frame, 0, mac);
    writeMac(frame, 6, ifc.mac);
    wr16(frame, 12, 0x0800);
    frame.set(pkt, 14);
    ifc.send(frame);
  }
}

/** Time a host takes to answer an ARP request, ms: 5 to 55 µs drawn from the lab's seeded generator. */
export function arpDelay(rng: Rng): number {
  return 0.005 + (rng.next32() % 51) / 1000;
}
