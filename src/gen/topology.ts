/**
 * What the generator learns from the director's set-up: the virtual services
 * flows go to, the interface (and MAC) where client frames arrive, the
 * client population (addresses, source MACs, TTLs), and for NAT the
 * interface, MACs and addresses of each real server's replies.
 *
 * Client addresses. Unless `--client-net` names them, they come from the
 * set-up: when the director routes some prefix through a gateway on the
 * client side (e.g. `ip route add default via …`), clients lie behind that
 * gateway (198.18.0.0/15, RFC 2544's benchmarking range, or 2001:db8:ffff::/64)
 * and their frames carry the gateway's MAC; otherwise they are hosts of the
 * client-side subnet, carrying their own MAC (from `ip neigh`, else a
 * generated 02:c1:… one). NAT replies go back through the director, which
 * must resolve each client's next hop: without a gateway only clients with an
 * `ip neigh` entry are used for NAT services.
 */
import { IpAddr, type Af, parsePrefix, macToString } from '../wire/addr.js';
import type { Director } from '../ipvs/director.js';
import type { Link } from '../ipvs/host.js';
import { Fwd, Proto, type Dest, type Service } from '../ipvs/service.js';
import { GenOptionError, type GenOptions } from './options.js';

/** A virtual service flows are generated for. */
export interface GenService {
  /** Position in Topology.services. */
  readonly index: number;
  readonly af: Af;
  /** 6 (TCP) or 17 (UDP). */
  readonly proto: number;
  readonly vip: IpAddr;
  /** Destination port of the flows (the service's port; 80 for a port-0 service). */
  readonly vport: number;
  /** Whether some real server of the service is reached by NAT (-m): its replies are generated. */
  readonly nat: boolean;
  readonly svc: Service;
}

/** The client population of one address family. */
export interface ClientSide {
  readonly af: Af;
  /** Director link where client frames arrive, and its MAC (the frames' destination MAC). */
  readonly link: number;
  readonly linkMac: number;
  /** Number of clients. */
  readonly count: number;
  /** Address words of client i at [4i, 4i+4) (IPv4: word 0). */
  readonly words: Uint32Array;
  /** Source MAC of client i's frames (the gateway's when routed). */
  readonly macs: Float64Array;
  /** TTL / hop limit of client i's frames as they reach the director. */
  readonly ttl: Uint8Array;
  /** Where the addresses come from, for the summary (`198.18.0.0/15 via 172.25.83.254`). */
  readonly origin: string;
  /** True when clients are behind a gateway; false: hosts of a directly connected subnet. */
  readonly routed: boolean;
}

/** Where a real server's replies come from (NAT). */
export interface ServerEnd {
  /** Director link the replies arrive on, and its MAC (their destination MAC). */
  link: number;
  linkMac: number;
  /** Source MAC of the replies: the real server's (or its router's). */
  mac: number;
}

/** The MAC the generator makes up for a host the set-up gives no MAC for. */
export function generatedMac(a: IpAddr): number {
  const low = a.af === 4 ? a.w0 : a.w3;
  return 0x02c100000000 + (low >>> 0);
}

const DEFAULT_POOL: Record<Af, string> = { 4: '198.18.0.0/15', 6: '2001:db8:ffff::/64' };

function linkOfAddress(d: Director, a: IpAddr): Link | undefined {
  for (const l of d.host.links) if (l.addrs.some((x) => x.addr.equals(a))) return l;
  return undefined;
}

/** Adds `i` to the address (to its last word for IPv6). */
function plus(a: IpAddr, i: number): IpAddr {
  if (a.af === 4) return new IpAddr(4, (a.w0 + i) >>> 0);
  return new IpAddr(6, a.w0, a.w1, a.w2, (a.w3 + i) >>> 0);
}

function hostBits(af: Af, plen: number): number {
  return (af === 4 ? 32 : 128) - plen;
}

export class Topology {
  readonly services: GenService[] = [];
  readonly clients: Partial<Record<Af, ClientSide>> = {};
  readonly warnings: string[] = [];
  private readonly director: Director;
  private readonly serverEnds = new Map<number, ServerEnd | null>();

  constructor(director: Director, opts: GenOptions) {
    this.director = director;
    for (const svc of director.ipvs.services) {
      if (svc.fwmark !== 0) {
        this.warnings.push(
          `firewall-mark service ${svc.fwmark} skipped: the generator addresses VIP:port services`,
        );
        continue;
      }
      if (svc.protocol !== Proto.TCP && svc.protocol !== Proto.UDP) {
        this.warnings.push(
          `SCTP service ${svc.addr}:${svc.port} skipped: the generator makes TCP and UDP flows`,
        );
        continue;
      }
      if (opts.small && svc.af === 6) {
        this.warnings.push(`IPv6 service [${svc.addr}]:${svc.port} skipped: --small makes IPv4 frames only`);
        continue;
      }
      this.services.push({
        index: this.services.length,
        af: svc.af,
        proto: svc.protocol,
        vip: svc.addr,
        vport: svc.port === 0 ? 80 : svc.port,
        nat: svc.dests.some((d) => d.fwd === Fwd.MASQ),
        svc,
      });
    }
    if (this.services.length === 0)
      throw new GenOptionError(
        'the set-up has no TCP or UDP virtual service (ipvsadm -A -t|-u VIP:PORT) to send flows to',
      );
    const nets: Partial<Record<Af, { addr: IpAddr; plen: number }>> = {};
    for (const text of opts.clientNets) {
      const p = parsePrefix(text);
      if (!p)
        throw new GenOptionError(
          `--client-net takes a CIDR prefix (10.1.0.0/16, 2001:db8::/64), got '${text}'`,
        );
      if (nets[p.addr.af]) throw new GenOptionError(`--client-net given twice for IPv${p.addr.af}`);
      nets[p.addr.af] = { addr: p.addr.masked(p.plen), plen: p.plen };
    }
    for (const af of [4, 6] as const) {
      const svcs = this.services.filter((s) => s.af === af);
      if (svcs.length === 0) continue;
      this.clients[af] = this.clientSide(af, svcs, nets[af] ?? null, opts);
    }
  }

  /** Addresses a client must not have: the director's, the real servers', the gateways'. */
  private reserved(): Set<string> {
    const d = this.director;
    const out = new Set<string>();
    for (const a of d.host.localAddresses()) out.add(a.toString());
    for (const s of d.ipvs.services) for (const x of s.dests) out.add(x.addr.toString());
    for (const r of d.host.allRoutes()) if (r.via) out.add(r.via.toString());
    return out;
  }

  private clientSide(
    af: Af,
    svcs: GenService[],
    net: { addr: IpAddr; plen: number } | null,
    opts: GenOptions,
  ): ClientSide {
    const host = this.director.host;
    const nat = svcs.some((s) => s.nat);
    let base: IpAddr;
    let plen: number;
    let link: Link;
    let gateway: IpAddr | null = null;
    let candidates: IpAddr[] | null = null;
    if (net) {
      base = net.addr;
      plen = net.plen;
      const r = host.lookupRoute(plus(base, hostBits(af, plen) >= 2 ? 1 : 0));
      if (!r) throw new GenOptionError(`--client-net ${base}/${plen}: the director has no route to it`);
      link = r.link;
      gateway = r.via;
      if (!gateway && nat && !host.neighbours().some((n) => n.link === link && n.addr.af === af))
        this.warnings.push(
          `NAT replies to clients in ${base}/${plen} need neighbour entries (ip neigh add …) on ${link.name}: the director cannot resolve them`,
        );
    } else {
      const pool = parsePrefix(DEFAULT_POOL[af]);
      if (!pool) throw new Error('bad default pool');
      const r = host.lookupRoute(plus(pool.addr, 1));
      if (r && r.via) {
        base = pool.addr;
        plen = pool.plen;
        link = r.link;
        gateway = r.via;
      } else {
        // clients on the subnet of the interface holding the VIP (else the first with an address)
        const vipLink = svcs.map((s) => linkOfAddress(this.director, s.vip)).find((l) => l !== undefined);
        const l = vipLink ?? host.links.find((x) => x.addrs.some((a) => a.addr.af === af));
        if (!l)
          throw new GenOptionError(
            `no interface has an IPv${af} address: give the clients' network with --client-net`,
          );
        const subnet = l.addrs.find((a) => a.addr.af === af && !a.secondary && hostBits(af, a.plen) >= 2);
        if (!subnet)
          throw new GenOptionError(
            `${l.name} has no IPv${af} subnet with room for clients: give the clients' network with --client-net`,
          );
        link = l;
        base = subnet.addr.masked(subnet.plen);
        plen = subnet.plen;
        if (nat) {
          const reserved = this.reserved();
          candidates = host
            .neighbours()
            .filter(
              (n) =>
                n.link === l &&
                n.addr.af === af &&
                n.addr.masked(plen).equals(base) &&
                !reserved.has(n.addr.toString()),
            )
            .map((n) => n.addr);
          if (candidates.length === 0)
            throw new GenOptionError(
              `NAT service without a route to the clients: the director must reach them to forward the replies. ` +
                `Add a gateway (ip route add default via GW dev ${l.name}; ip neigh add GW lladdr MAC dev ${l.name}), ` +
                `clients with ip neigh entries on ${l.name}, or give --client-net`,
            );
        }
      }
    }
    const addrs = this.population(af, base, plen, candidates, opts);
    const n = addrs.length;
    const words = new Uint32Array(n * 4);
    const macs = new Float64Array(n);
    const ttl = new Uint8Array(n);
    const gwMac = gateway ? (host.neighbour(gateway)?.mac ?? generatedMac(gateway)) : 0;
    if (gateway && !host.neighbour(gateway) && nat)
      this.warnings.push(
        `the gateway ${gateway} has no neighbour entry: NAT replies to clients cannot be sent`,
      );
    for (let i = 0; i < n; i++) {
      const a = addrs[i];
      a.writeWords(words, 4 * i);
      if (gateway) {
        macs[i] = gwMac;
        // a few routers away: 64 minus 1..12 hops, fixed per client
        const h = Math.imul(a.af === 4 ? a.w0 : a.w3 ^ a.w2, 0x9e3779b1) >>> 0;
        ttl[i] = 64 - 1 - (h % 12);
      } else {
        macs[i] = host.neighbour(a)?.mac ?? generatedMac(a);
        ttl[i] = 64;
      }
    }
    const origin = `${base}/${plen}${gateway ? ` via ${gateway} (${macToString(gwMac)})` : ` on ${link.name}`}`;
    return {
      af,
      link: link.index,
      linkMac: link.mac,
      count: n,
      words,
      macs,
      ttl,
      origin,
      routed: gateway !== null,
    };
  }

  /** The client addresses: the first hosts of the network (or the given candidates), one /24 for `subnet`. */
  private population(
    af: Af,
    base: IpAddr,
    plen: number,
    candidates: IpAddr[] | null,
    opts: GenOptions,
  ): IpAddr[] {
    const want = opts.clientDist === 'subnet' ? 254 : opts.clients;
    if (candidates) {
      let c = candidates;
      if (opts.clientDist === 'subnet') {
        const first = c[0].masked(af === 4 ? 24 : 120);
        c = c.filter((a) => a.masked(af === 4 ? 24 : 120).equals(first));
      }
      if (c.length < want && opts.clientDist !== 'subnet')
        this.warnings.push(`only ${c.length} client addresses available (asked for ${want})`);
      return c.slice(0, want);
    }
    const reserved = this.reserved();
    const bits = hostBits(af, plen);
    // hosts 1 .. size-2 (no network or broadcast address; a /31 or /32 is all hosts);
    // `subnet` stays inside the first /24 (IPv6: /120)
    const size = bits >= 31 ? 2 ** 31 : 2 ** bits;
    const first = bits <= 1 ? 0 : 1;
    const end = bits <= 1 ? size : opts.clientDist === 'subnet' ? Math.min(size - 1, 255) : size - 1;
    const out: IpAddr[] = [];
    for (let i = first; i < end && out.length < want; i++) {
      if (af === 4 && bits > 8 && ((i & 255) === 0 || (i & 255) === 255)) continue;
      const a = plus(base, i);
      if (reserved.has(a.toString())) continue;
      out.push(a);
    }
    if (out.length === 0) throw new GenOptionError(`no client address available in ${base}/${plen}`);
    if (out.length < want && opts.clientDist !== 'subnet')
      this.warnings.push(
        `only ${out.length} client addresses available in ${base}/${plen} (asked for ${want})`,
      );
    return out;
  }

  /** Where the replies of NAT real server `dest` come from (cached; null when the director has no route to it). */
  serverEnd(dest: Dest): ServerEnd | null {
    let e = this.serverEnds.get(dest.id);
    if (e !== undefined) return e;
    const host = this.director.host;
    const r = host.lookupRoute(dest.addr);
    if (!r) {
      this.warnings.push(`no route to the real server ${dest.addr}: its replies are not generated`);
      e = null;
    } else {
      const hop = r.via ?? dest.addr;
      e = { link: r.link.index, linkMac: r.link.mac, mac: host.neighbour(hop)?.mac ?? generatedMac(hop) };
    }
    this.serverEnds.set(dest.id, e);
    return e;
  }
}
