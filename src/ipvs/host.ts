/**
 * The director as a Linux host: interfaces (links), their addresses, the
 * neighbour table and the routing table, configured by `ip link/addr/neigh/
 * route` lines. Lookups used per packet take numbers, never strings; the
 * structures are small (a lab director has a handful of routes), so route
 * lookup is a scan of a prefix-length-ordered array, and the datapath caches
 * its result per real server as the kernel caches a dst per destination.
 */
import { IpAddr, type Af } from '../wire/addr.js';

export class Link {
  /** Position in Host.links (also the pcapng interface id of its output). */
  readonly index: number;
  readonly name: string;
  mac = 0;
  macSet = false;
  mtu = 1500;
  /** Addresses in the order added (the kernel's primary-first order within a subnet). */
  readonly addrs: LinkAddr[] = [];

  constructor(index: number, name: string) {
    this.index = index;
    this.name = name;
  }
}

export interface LinkAddr {
  addr: IpAddr;
  plen: number;
  /** A second address inside the subnet of an earlier one on the same link (not used as a source). */
  secondary: boolean;
}

export interface Route {
  af: Af;
  prefix: IpAddr;
  plen: number;
  /** Next hop; null for a directly connected prefix. */
  via: IpAddr | null;
  link: Link;
  /** Preferred source (the address whose subnet made a connected route). */
  prefsrc: IpAddr | null;
  metric: number;
  /** Route MTU (`ip route add … mtu N`); 0: the link's MTU. */
  mtu: number;
}

export interface Neighbour {
  addr: IpAddr;
  mac: number;
  link: Link;
}

export class HostError extends Error {}

export class Host {
  readonly links: Link[] = [];
  /**
   * Addresses on the loopback device (`ip addr add VIP/32 dev lo`): local
   * addresses without a link of their own. The director accepts packets to
   * them like to any other local address; no frame ever leaves through `lo`.
   */
  readonly loopbackAddrs: LinkAddr[] = [];
  /** IPv4 prefixes shorter than /32 on `lo`: the whole prefix is local, as the kernel's local route makes it. */
  private readonly loPrefixes4: { net: number; mask: number }[] = [];
  private readonly routes: Route[] = [];
  private readonly neigh4 = new Map<number, Neighbour>();
  private readonly neigh6 = new Map<string, Neighbour>();
  private readonly local4 = new Set<number>();
  private readonly local6 = new Set<string>();

  /** The link named `name`, created (MAC unset, MTU 1500) when first named (`lo` is not a link). */
  link(name: string): Link {
    let l = this.links.find((x) => x.name === name);
    if (!l) {
      if (name === 'lo') throw new HostError(`'lo' is the loopback device; it carries no frames`);
      if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(name)) throw new HostError(`invalid interface name '${name}'`);
      l = new Link(this.links.length, name);
      this.links.push(l);
    }
    return l;
  }

  findLink(name: string): Link | undefined {
    return this.links.find((x) => x.name === name);
  }

  /** The link whose MAC is `mac`, if any. */
  linkByMac(mac: number): Link | undefined {
    return this.links.find((x) => x.macSet && x.mac === mac);
  }

  setMac(link: Link, mac: number): void {
    link.mac = mac;
    link.macSet = true;
  }

  setMtu(link: Link, mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new HostError(`invalid MTU ${mtu}`);
    link.mtu = mtu;
  }

  /** `ip addr add ADDR/PLEN dev LINK`: the address becomes local and its subnet directly connected. */
  addAddress(link: Link, addr: IpAddr, plen: number): void {
    if (this.isLocal(addr) && link.addrs.some((a) => a.addr.equals(addr)))
      throw new HostError(
        `address ${addr}/${plen} already assigned to ${link.name} (RTNETLINK answers: File exists)`,
      );
    const secondary = link.addrs.some(
      (a) => a.addr.af === addr.af && a.plen === plen && a.addr.masked(plen).equals(addr.masked(plen)),
    );
    link.addrs.push({ addr, plen, secondary });
    if (addr.af === 4) this.local4.add(addr.w0);
    else this.local6.add(addr.toString());
    const net = addr.masked(plen);
    const full = addr.af === 4 ? 32 : 128;
    if (plen < full && !secondary) {
      this.insertRoute({ af: addr.af, prefix: net, plen, via: null, link, prefsrc: addr, metric: 0, mtu: 0 });
    }
  }

  /**
   * `ip addr add ADDR/PLEN dev lo`: the address becomes local without a link.
   * On lo an IPv4 prefix shorter than /32 makes the whole prefix local (the
   * kernel adds a local route for it); an IPv6 address is local by itself.
   */
  addLoopbackAddress(addr: IpAddr, plen: number): void {
    if (this.loopbackAddrs.some((a) => a.addr.equals(addr)))
      throw new HostError(`address ${addr}/${plen} already assigned to lo (RTNETLINK answers: File exists)`);
    this.loopbackAddrs.push({ addr, plen, secondary: false });
    if (addr.af === 4) {
      this.local4.add(addr.w0);
      if (plen < 32) {
        const mask = plen === 0 ? 0 : (~0 << (32 - plen)) >>> 0;
        this.loPrefixes4.push({ net: (addr.w0 & mask) >>> 0, mask });
      }
    } else this.local6.add(addr.toString());
  }

  /** `ip neigh add ADDR lladdr MAC dev LINK` (a later entry for the same address replaces it). */
  addNeighbour(link: Link, addr: IpAddr, mac: number): void {
    const n: Neighbour = { addr, mac, link };
    if (addr.af === 4) this.neigh4.set(addr.w0, n);
    else this.neigh6.set(addr.toString(), n);
  }

  /** `ip route add PREFIX/PLEN [via GW] [dev LINK] [metric M] [src ADDR]`. */
  addRoute(
    prefix: IpAddr,
    plen: number,
    via: IpAddr | null,
    link: Link | null,
    metric = 0,
    src: IpAddr | null = null,
    mtu = 0,
  ): void {
    let out = link;
    if (via) {
      const r = this.lookupRoute(via);
      if (!r || r.via)
        throw new HostError(
          `gateway ${via} is not directly reachable (RTNETLINK answers: Network is unreachable)`,
        );
      if (out && out !== r.link)
        throw new HostError(
          `gateway ${via} is not on ${out.name} (RTNETLINK answers: Network is unreachable)`,
        );
      out = r.link;
    }
    if (!out) throw new HostError('a route needs "via GATEWAY" or "dev DEVICE"');
    const net = prefix.masked(plen);
    if (
      this.routes.some(
        (r) => r.af === prefix.af && r.plen === plen && r.prefix.equals(net) && r.metric === metric,
      )
    )
      throw new HostError(`route ${net}/${plen} already exists (RTNETLINK answers: File exists)`);
    if (src && !this.isLocal(src))
      throw new HostError(`source ${src} is not a local address (RTNETLINK answers: Invalid argument)`);
    this.insertRoute({ af: prefix.af, prefix: net, plen, via, link: out, prefsrc: src, metric, mtu });
  }

  private insertRoute(r: Route): void {
    this.routes.push(r);
    // longest prefix first, then lowest metric, then insertion order (stable sort)
    this.routes.sort((a, b) => b.plen - a.plen || a.metric - b.metric);
  }

  /** Longest-prefix-match route to `dst`, or undefined (no route). */
  lookupRoute(dst: IpAddr): Route | undefined {
    for (const r of this.routes) {
      if (r.af === dst.af && dst.masked(r.plen).equals(r.prefix)) return r;
    }
    return undefined;
  }

  /** Every route, longest prefix first. */
  allRoutes(): readonly Route[] {
    return this.routes;
  }

  isLocal(addr: IpAddr): boolean {
    return addr.af === 4 ? this.isLocalV4(addr.w0) : this.local6.has(addr.toString());
  }

  /** Hot path: is this IPv4 word one of the director's addresses (or inside a prefix on lo)? */
  isLocalV4(w: number): boolean {
    if (this.local4.has(w)) return true;
    const p = this.loPrefixes4;
    for (let i = 0; i < p.length; i++) if ((w & p[i].mask) >>> 0 === p[i].net) return true;
    return false;
  }

  neighbour(addr: IpAddr): Neighbour | undefined {
    return addr.af === 4 ? this.neigh4.get(addr.w0) : this.neigh6.get(addr.toString());
  }

  /**
   * True when `addr` is the broadcast address of one of the director's IPv4
   * subnets (the kernel's local-table broadcast routes: prefixes up to /30)
   * or 255.255.255.255, which inet_addr_type() calls RTN_BROADCAST.
   */
  isBroadcast(addr: IpAddr): boolean {
    if (addr.af !== 4) return false;
    if (addr.w0 === 0xffffffff) return true;
    for (const l of this.links)
      for (const a of l.addrs) {
        if (a.addr.af !== 4 || a.plen > 30) continue;
        const host = a.plen === 0 ? 0xffffffff : ~(~0 << (32 - a.plen)) >>> 0;
        if ((a.addr.w0 | host) >>> 0 === addr.w0) return true;
      }
    return false;
  }

  /** Every local address: those of the links, then those on `lo`. */
  localAddresses(): IpAddr[] {
    const out: IpAddr[] = [];
    for (const l of this.links) for (const a of l.addrs) out.push(a.addr);
    for (const a of this.loopbackAddrs) out.push(a.addr);
    return out;
  }

  /** Every neighbour entry (IPv4 then IPv6). */
  neighbours(): Neighbour[] {
    return [...this.neigh4.values(), ...this.neigh6.values()];
  }

  /** IPv4 broadcast addresses of the links' subnets (prefixes up to /30), for the compiled FIB. */
  subnetBroadcasts(): number[] {
    const out: number[] = [];
    for (const l of this.links)
      for (const a of l.addrs) {
        if (a.addr.af !== 4 || a.plen > 30) continue;
        const host = a.plen === 0 ? 0xffffffff : ~(~0 << (32 - a.plen)) >>> 0;
        out.push((a.addr.w0 | host) >>> 0);
      }
    return out;
  }

  /** Hot path: neighbour entry of an IPv4 next hop. */
  neighbourV4(w: number): Neighbour | undefined {
    return this.neigh4.get(w);
  }

  /**
   * The source address the director uses toward `dst` leaving through
   * `route` (inet_select_addr / IPv6 source selection): the route's preferred
   * source, else the first primary address of the egress link whose subnet
   * holds the next hop, else the link's first primary address of that family,
   * else any local address of the family.
   */
  sourceFor(dst: IpAddr, route: Route): IpAddr | undefined {
    if (route.prefsrc) return route.prefsrc;
    const hop = route.via ?? dst;
    let first: IpAddr | undefined;
    for (const a of route.link.addrs) {
      if (a.addr.af !== dst.af || a.secondary) continue;
      if (hop.masked(a.plen).equals(a.addr.masked(a.plen))) return a.addr;
      first ??= a.addr;
    }
    if (first) return first;
    for (const l of this.links)
      for (const a of l.addrs) if (a.addr.af === dst.af && !a.secondary) return a.addr;
    for (const a of this.loopbackAddrs) if (a.addr.af === dst.af) return a.addr;
    return undefined;
  }
}
