/**
 * The director's forwarding information compiled for the hot path: local
 * addresses, routes (longest prefix first) and neighbours as plain numbers in
 * typed arrays, rebuilt from the control-plane `Host` whenever the set-up
 * changes (`Fib.build`). Lookups never allocate and never build strings.
 *
 * An address is four 32-bit words (IPv4 in word 0), see wire/addr.ts. Lookups
 * take the words from a `Uint32Array` at an index (the packet scratch) and
 * answer by writing into the reused `FibResult`.
 */
import type { Host } from './host.js';
import { KeyIndex } from './keyindex.js';

/** Result of a route lookup (one instance per caller, reused). */
export class FibResult {
  /** Address family of the destination looked up (and of nextHop / src). */
  af = 4;
  /** Egress link index, or -1 when there is no route. */
  link = -1;
  /** Next hop (the gateway, or the destination itself when directly connected). */
  readonly nextHop = new Uint32Array(4);
  /** Preferred source address toward the destination (zero when the link has none of the family). */
  readonly src = new Uint32Array(4);
  /** The destination is one of the director's own addresses (RTN_LOCAL). */
  local = false;
  /** MTU of the route (`mtu N`), else of the egress link. */
  mtu = 0;
  /** Index of the route used (for explain/tracing), -1 for local. */
  route = -1;
  /** Prefix length of the route used (32 / 128 for a local destination). */
  plen = 0;
}

const MAX_ROUTES = 4096;

export class Fib {
  /** MAC (48-bit number) of each link, by link index. */
  linkMac: Float64Array = new Float64Array(0);
  linkMtu: Int32Array = new Int32Array(0);
  linkCount = 0;
  /** Interface names by link index (per-interface sysctls are read by name when the set-up changes). */
  linkName: string[] = [];
  /**
   * The addresses configured on links, in the order added (the kernel's
   * primary-first order): family, words (4 per entry), prefix length, link,
   * secondary flag. Used by the host stack (ARP/ND targets, source selection).
   */
  addrCount = 0;
  addrAf: Uint8Array = new Uint8Array(0);
  addrWords: Uint32Array = new Uint32Array(0);
  addrPlen: Uint8Array = new Uint8Array(0);
  addrLink: Int32Array = new Int32Array(0);
  addrSecondary: Uint8Array = new Uint8Array(0);

  // local addresses (and IPv4 prefixes made local by an address on lo)
  /**
   * IPv4 local and broadcast addresses in open-addressed word indexes: a
   * Set<number> would box every address above 2^30 on each lookup.
   */
  private local4 = new KeyIndex(1, 4);
  private loNet4 = new Uint32Array(0);
  private loMask4 = new Uint32Array(0);
  private broadcast4 = new KeyIndex(1, 4);
  /** Scratch key for the word indexes. */
  private readonly key1 = new Uint32Array(1);
  private local6: Uint32Array = new Uint32Array(0);
  private local6Count = 0;

  // routes, longest prefix first: [w0..w3 prefix, w0..w3 mask] per route
  private r4Prefix = new Uint32Array(0);
  private r4Mask = new Uint32Array(0);
  private r4Gw = new Uint32Array(0);
  private r4Link = new Int32Array(0);
  private r4Src = new Uint32Array(0);
  private r4Mtu = new Int32Array(0);
  private r4Count = 0;
  private r6Prefix = new Uint32Array(0);
  private r6Mask = new Uint32Array(0);
  private r6Gw = new Uint32Array(0);
  private r6HasGw = new Uint8Array(0);
  private r6Link = new Int32Array(0);
  private r6Src = new Uint32Array(0);
  private r6Mtu = new Int32Array(0);
  private r6Count = 0;

  // neighbours
  private n4Mac = new Float64Array(0);
  /** (address, link) -> entry, without boxing: Map keys above 2^30 are heap numbers in V8. */
  private n4Index = new KeyIndex(2, 4);
  private readonly n4Key = new Uint32Array(2);
  private n4Link = new Int32Array(0);
  private n6Addr = new Uint32Array(0);
  private n6Mac = new Float64Array(0);
  private n6Link = new Int32Array(0);
  private n6Count = 0;

  /** Compiles the host's configuration. */
  static build(host: Host): Fib {
    const f = new Fib();
    const links = host.links;
    f.linkCount = links.length;
    f.linkMac = new Float64Array(links.length);
    f.linkMtu = new Int32Array(links.length);
    for (const l of links) {
      f.linkMac[l.index] = l.mac;
      f.linkMtu[l.index] = l.mtu;
      f.linkName[l.index] = l.name;
    }
    const la = links.flatMap((l) => l.addrs.map((a) => ({ a, link: l.index })));
    f.addrCount = la.length;
    f.addrAf = new Uint8Array(la.length);
    f.addrWords = new Uint32Array(la.length * 4);
    f.addrPlen = new Uint8Array(la.length);
    f.addrLink = new Int32Array(la.length);
    f.addrSecondary = new Uint8Array(la.length);
    la.forEach(({ a, link }, i) => {
      f.addrAf[i] = a.addr.af;
      for (let w = 0; w < 4; w++)
        f.addrWords[i * 4 + w] = a.addr.af === 4 ? (w === 0 ? a.addr.w0 : 0) : a.addr.word(w);
      f.addrPlen[i] = a.plen;
      f.addrLink[i] = link;
      f.addrSecondary[i] = a.secondary ? 1 : 0;
    });
    const l6: number[] = [];
    for (const a of host.localAddresses()) {
      if (a.af === 4) {
        f.key1[0] = a.w0;
        if (f.local4.find(f.key1, 0) < 0) f.local4.insert(f.key1, 0, 0);
      } else l6.push(a.w0, a.w1, a.w2, a.w3);
    }
    f.local6 = Uint32Array.from(l6);
    const lo = host.loopbackAddrs.filter((a) => a.addr.af === 4 && a.plen < 32);
    f.loMask4 = Uint32Array.from(lo.map((a) => (a.plen === 0 ? 0 : (~0 << (32 - a.plen)) >>> 0)));
    f.loNet4 = Uint32Array.from(lo.map((a, i) => (a.addr.w0 & f.loMask4[i]) >>> 0));
    for (const b of [0xffffffff, ...host.subnetBroadcasts()]) {
      f.key1[0] = b;
      if (f.broadcast4.find(f.key1, 0) < 0) f.broadcast4.insert(f.key1, 0, 0);
    }
    f.local6Count = l6.length / 4;

    const routes = host.allRoutes().slice(0, MAX_ROUTES);
    const v4 = routes.filter((r) => r.af === 4);
    const v6 = routes.filter((r) => r.af === 6);
    f.r4Count = v4.length;
    f.r4Prefix = new Uint32Array(v4.length);
    f.r4Mask = new Uint32Array(v4.length);
    f.r4Gw = new Uint32Array(v4.length);
    f.r4Link = new Int32Array(v4.length);
    f.r4Src = new Uint32Array(v4.length);
    f.r4Mtu = Int32Array.from(v4.map((r) => r.mtu));
    v4.forEach((r, i) => {
      f.r4Prefix[i] = r.prefix.w0;
      f.r4Mask[i] = r.plen === 0 ? 0 : (~0 << (32 - r.plen)) >>> 0;
      f.r4Gw[i] = r.via ? r.via.w0 : 0;
      f.r4Link[i] = r.link.index;
      const src = host.sourceFor(r.via ?? r.prefix, r);
      f.r4Src[i] = src && src.af === 4 ? src.w0 : 0;
    });
    f.r6Count = v6.length;
    f.r6Prefix = new Uint32Array(v6.length * 4);
    f.r6Mask = new Uint32Array(v6.length * 4);
    f.r6Gw = new Uint32Array(v6.length * 4);
    f.r6HasGw = new Uint8Array(v6.length);
    f.r6Link = new Int32Array(v6.length);
    f.r6Src = new Uint32Array(v6.length * 4);
    f.r6Mtu = Int32Array.from(v6.map((r) => r.mtu));
    v6.forEach((r, i) => {
      for (let w = 0; w < 4; w++) {
        f.r6Prefix[i * 4 + w] = r.prefix.word(w);
        const keep = Math.max(0, Math.min(32, r.plen - 32 * w));
        f.r6Mask[i * 4 + w] = keep === 0 ? 0 : keep === 32 ? 0xffffffff : (~0 << (32 - keep)) >>> 0;
        f.r6Gw[i * 4 + w] = r.via ? r.via.word(w) : 0;
      }
      f.r6HasGw[i] = r.via ? 1 : 0;
      f.r6Link[i] = r.link.index;
      const src = host.sourceFor(r.via ?? r.prefix, r);
      if (src && src.af === 6) for (let w = 0; w < 4; w++) f.r6Src[i * 4 + w] = src.word(w);
    });

    const n4: { w: number; mac: number; link: number }[] = [];
    const n6: { a: number[]; mac: number; link: number }[] = [];
    for (const n of host.neighbours()) {
      if (n.addr.af === 4) n4.push({ w: n.addr.w0, mac: n.mac, link: n.link.index });
      else n6.push({ a: [n.addr.w0, n.addr.w1, n.addr.w2, n.addr.w3], mac: n.mac, link: n.link.index });
    }
    f.n4Mac = new Float64Array(n4.length);
    f.n4Link = new Int32Array(n4.length);
    f.n4Index = new KeyIndex(2, Math.max(4, n4.length));
    n4.forEach((n, i) => {
      f.n4Key[0] = n.w;
      f.n4Key[1] = n.link;
      if (f.n4Index.find(f.n4Key, 0) < 0) f.n4Index.insert(f.n4Key, 0, i);
      f.n4Mac[i] = n.mac;
      f.n4Link[i] = n.link;
    });
    f.n6Count = n6.length;
    f.n6Addr = new Uint32Array(n6.length * 4);
    f.n6Mac = new Float64Array(n6.length);
    f.n6Link = new Int32Array(n6.length);
    n6.forEach((n, i) => {
      f.n6Addr.set(n.a, i * 4);
      f.n6Mac[i] = n.mac;
      f.n6Link[i] = n.link;
    });
    return f;
  }

  /**
   * Is the IPv4 address (word) one of the director's own? Callers that V8
   * may not inline this into pass the word as an int32 (`| 0`): an unsigned
   * value of 2^31 or more would be boxed, a heap allocation per packet.
   */
  isLocal4(w: number): boolean {
    const a = w >>> 0;
    this.key1[0] = a;
    if (this.local4.find(this.key1, 0) >= 0) return true;
    for (let i = 0; i < this.loNet4.length; i++)
      if ((a & this.loMask4[i]) >>> 0 === this.loNet4[i]) return true;
    return false;
  }

  /** Limited or subnet-directed IPv4 broadcast address of one of the links. */
  isBroadcast4(w: number): boolean {
    this.key1[0] = w;
    return this.broadcast4.find(this.key1, 0) >= 0;
  }

  /** Is the IPv6 address at a[i..i+3] one of the director's own? */
  isLocal6(a: Uint32Array, i: number): boolean {
    const l = this.local6;
    for (let k = 0; k < this.local6Count; k++) {
      const o = k * 4;
      if (l[o] === a[i] && l[o + 1] === a[i + 1] && l[o + 2] === a[i + 2] && l[o + 3] === a[i + 3])
        return true;
    }
    return false;
  }

  isLocal(af: number, a: Uint32Array, i: number): boolean {
    return af === 4 ? this.isLocal4(a[i] | 0) : this.isLocal6(a, i);
  }

  /**
   * Route lookup (ip_route_output / fib lookup): fills `out`. A local
   * destination answers `local = true` (the loopback route); otherwise the
   * longest matching prefix gives link, next hop and preferred source.
   */
  lookup(af: number, a: Uint32Array, i: number, out: FibResult): boolean {
    out.af = af;
    out.local = false;
    out.route = -1;
    if (this.isLocal(af, a, i)) {
      out.local = true;
      out.link = -1;
      out.mtu = 65536;
      out.plen = af === 4 ? 32 : 128;
      for (let w = 0; w < 4; w++) {
        out.nextHop[w] = a[i + w];
        out.src[w] = a[i + w];
      }
      return true;
    }
    if (af === 4) {
      const d = a[i] >>> 0;
      for (let r = 0; r < this.r4Count; r++) {
        if ((d & this.r4Mask[r]) >>> 0 === this.r4Prefix[r]) {
          out.route = r;
          out.plen = Math.clz32(~this.r4Mask[r]);
          out.link = this.r4Link[r];
          out.mtu = this.r4Mtu[r] || this.linkMtu[out.link];
          out.nextHop[0] = this.r4Gw[r] !== 0 ? this.r4Gw[r] : d;
          out.nextHop[1] = out.nextHop[2] = out.nextHop[3] = 0;
          out.src[0] = this.r4Src[r];
          out.src[1] = out.src[2] = out.src[3] = 0;
          return true;
        }
      }
    } else {
      for (let r = 0; r < this.r6Count; r++) {
        const o = r * 4;
        if (
          (a[i] & this.r6Mask[o]) >>> 0 === this.r6Prefix[o] &&
          (a[i + 1] & this.r6Mask[o + 1]) >>> 0 === this.r6Prefix[o + 1] &&
          (a[i + 2] & this.r6Mask[o + 2]) >>> 0 === this.r6Prefix[o + 2] &&
          (a[i + 3] & this.r6Mask[o + 3]) >>> 0 === this.r6Prefix[o + 3]
        ) {
          out.route = r;
          out.plen =
            Math.clz32(~this.r6Mask[o]) +
            Math.clz32(~this.r6Mask[o + 1]) +
            Math.clz32(~this.r6Mask[o + 2]) +
            Math.clz32(~this.r6Mask[o + 3]);
          out.link = this.r6Link[r];
          out.mtu = this.r6Mtu[r] || this.linkMtu[out.link];
          const gw = this.r6HasGw[r] === 1;
          for (let w = 0; w < 4; w++) {
            out.nextHop[w] = gw ? this.r6Gw[o + w] : a[i + w];
            out.src[w] = this.r6Src[o + w];
          }
          return true;
        }
      }
    }
    out.link = -1;
    return false;
  }

  /**
   * Writes the 6-byte MAC of a neighbour on `link` at buf[off..] and answers
   * true, or false when there is no entry. Unlike neighbour(), no 48-bit
   * number crosses a call (V8 would box it): the per-packet output path uses this.
   */
  writeNeighbourMac(
    af: number,
    a: Uint32Array,
    i: number,
    link: number,
    buf: Uint8Array,
    off: number,
  ): boolean {
    let mac: number;
    if (af === 4) {
      this.n4Key[0] = a[i];
      this.n4Key[1] = link;
      const k = this.n4Index.find(this.n4Key, 0);
      if (k < 0) return false;
      mac = this.n4Mac[k];
    } else {
      const n = this.n6Addr;
      let k = 0;
      for (; k < this.n6Count; k++) {
        const o = k * 4;
        if (
          n[o] === a[i] &&
          n[o + 1] === a[i + 1] &&
          n[o + 2] === a[i + 2] &&
          n[o + 3] === a[i + 3] &&
          this.n6Link[k] === link
        )
          break;
      }
      if (k === this.n6Count) return false;
      mac = this.n6Mac[k];
    }
    const hi = Math.floor(mac / 0x100000000);
    const lo = mac - hi * 0x100000000;
    buf[off] = hi >>> 8;
    buf[off + 1] = hi & 255;
    buf[off + 2] = lo >>> 24;
    buf[off + 3] = (lo >>> 16) & 255;
    buf[off + 4] = (lo >>> 8) & 255;
    buf[off + 5] = lo & 255;
    return true;
  }

  /**
   * MAC of a neighbour on `link` (NUD_PERMANENT entries from `ip neigh add`),
   * or -1 when unresolved.
   */
  neighbour(af: number, a: Uint32Array, i: number, link: number): number {
    if (af === 4) {
      this.n4Key[0] = a[i];
      this.n4Key[1] = link;
      const k = this.n4Index.find(this.n4Key, 0);
      return k < 0 ? -1 : this.n4Mac[k];
    }
    const n = this.n6Addr;
    for (let k = 0; k < this.n6Count; k++) {
      const o = k * 4;
      if (
        n[o] === a[i] &&
        n[o + 1] === a[i + 1] &&
        n[o + 2] === a[i + 2] &&
        n[o + 3] === a[i + 3] &&
        this.n6Link[k] === link
      )
        return this.n6Mac[k];
    }
    return -1;
  }
}
