/**
 * The host stack's settings, as numbers: the sysctls it models (with the 6.1
 * defaults) and facts about the director's links (addresses, IPv6 link-local
 * addresses, subnet broadcasts). Rebuilt whenever the set-up changes (the
 * director compiles a new Fib then; the stack notices the new Fib object),
 * never per packet.
 *
 * Times are kept both in milliseconds (timers on simulated time) and, where
 * the kernel counts in jiffies, in jiffies of a HZ=250 kernel (Debian's
 * amd64 configuration, the oracle's).
 */
import type { Fib } from '../fib.js';
import type { Sysctls } from '../sysctl.js';
import { writeMac } from '../../wire/addr.js';

/** Kernel tick rate of the oracle's kernel (CONFIG_HZ_250). */
export const HZ = 250;

/** Simulated milliseconds to jiffies (floor: the jiffy counter at that time). */
export function jiffiesAt(ms: number): number {
  return Math.floor((ms * HZ) / 1000);
}

/** msecs_to_jiffies(): a duration in milliseconds, rounded up to whole jiffies. */
export function msToJiffies(ms: number): number {
  return Math.ceil((ms * HZ) / 1000);
}

/** Neighbour-table parameters of one link and family (struct neigh_parms). */
export class NeighParms {
  ucastProbes = 3;
  mcastProbes = 3;
  appProbes = 0;
  mcastReprobes = 0;
  retransMs = 1000;
  delayProbeMs = 5000;
  reachableMs = 30000;
  locktimeMs = 1000;
}

export class StackConfig {
  // ---- IPv4 / IPv6 globals
  defaultTtl = 64;
  hopLimit = 64;
  ipForward = 0;
  ipv6Forward = 0;
  /** IPv6 is on (the set-up gave the director an IPv6 address). */
  ipv6On = false;
  icmpRatelimitJ = HZ;
  icmpRatemask = 0x1818;
  icmpMsgsPerSec = 1000;
  icmpMsgsBurst = 50;
  echoIgnoreAll = 0;
  echoIgnoreBroadcasts = 1;
  errorsUseInboundIfaddr = 0;
  icmp6RatelimitJ = HZ;
  icmp6EchoIgnoreAll = 0;
  icmp6EchoIgnoreMulticast = 0;
  ipfragTimeMs = 30000;
  ipfragHighThresh = 4 * 1024 * 1024;
  ipfragMaxDist = 64;
  ip6fragTimeMs = 60000;
  ip6fragHighThresh = 4 * 1024 * 1024;
  minPmtu = 552;
  mtuExpiresMs = 600000;
  ip6MtuExpiresMs = 600000;

  // ---- per link (conf.all combined with conf.IFACE as the kernel's IN_DEV_* macros do)
  linkCount = 0;
  arpIgnore = new Uint8Array(0);
  arpFilter = new Uint8Array(0);
  arpAccept = new Uint8Array(0);
  arpAnnounce = new Uint8Array(0);
  sendRedirects = new Uint8Array(0);
  sharedMedia = new Uint8Array(0);
  routeLocalnet = new Uint8Array(0);
  neigh4: NeighParms[] = [];
  neigh6: NeighParms[] = [];
  /** fe80::/64 EUI-64 link-local address of each link (4 words per link), valid when ipv6On. */
  linkLocal = new Uint32Array(0);
  /** Each link's MAC as 6 bytes (link * 6). */
  linkMacBytes = new Uint8Array(0);
  /** Broadcast addresses of the director's IPv4 subnets (prefixes up to /30). */
  bcast4 = new Uint32Array(0);

  /** Reads everything from the sysctls and the compiled Fib. */
  load(sys: Sysctls, fib: Fib): void {
    const num = (key: string, dflt: number): number => {
      const v = sys.get(key);
      return typeof v === 'number' ? v : dflt;
    };
    this.defaultTtl = num('net.ipv4.ip_default_ttl', 64);
    this.ipForward = sys.ipForward;
    this.ipv6Forward = sys.ipv6Forward;
    this.icmpRatelimitJ = msToJiffies(num('net.ipv4.icmp_ratelimit', 1000));
    this.icmpRatemask = num('net.ipv4.icmp_ratemask', 0x1818);
    this.icmpMsgsPerSec = num('net.ipv4.icmp_msgs_per_sec', 1000);
    this.icmpMsgsBurst = num('net.ipv4.icmp_msgs_burst', 50);
    this.echoIgnoreAll = num('net.ipv4.icmp_echo_ignore_all', 0);
    this.echoIgnoreBroadcasts = num('net.ipv4.icmp_echo_ignore_broadcasts', 1);
    this.errorsUseInboundIfaddr = num('net.ipv4.icmp_errors_use_inbound_ifaddr', 0);
    this.icmp6RatelimitJ = msToJiffies(num('net.ipv6.icmp.ratelimit', 1000));
    this.icmp6EchoIgnoreAll = num('net.ipv6.icmp.echo_ignore_all', 0);
    this.icmp6EchoIgnoreMulticast = num('net.ipv6.icmp.echo_ignore_multicast', 0);
    this.ipfragTimeMs = num('net.ipv4.ipfrag_time', 30) * 1000;
    this.ipfragHighThresh = num('net.ipv4.ipfrag_high_thresh', 4 * 1024 * 1024);
    this.ipfragMaxDist = num('net.ipv4.ipfrag_max_dist', 64);
    this.ip6fragTimeMs = num('net.ipv6.ip6frag_time', 60) * 1000;
    this.ip6fragHighThresh = num('net.ipv6.ip6frag_high_thresh', 4 * 1024 * 1024);
    this.minPmtu = num('net.ipv4.route.min_pmtu', 552);
    this.mtuExpiresMs = num('net.ipv4.route.mtu_expires', 600) * 1000;
    this.ip6MtuExpiresMs = num('net.ipv6.route.mtu_expires', 600) * 1000;

    const n = fib.linkCount;
    this.linkCount = n;
    this.arpIgnore = new Uint8Array(n);
    this.arpFilter = new Uint8Array(n);
    this.arpAccept = new Uint8Array(n);
    this.arpAnnounce = new Uint8Array(n);
    this.sendRedirects = new Uint8Array(n);
    this.sharedMedia = new Uint8Array(n);
    this.routeLocalnet = new Uint8Array(n);
    this.neigh4 = [];
    this.neigh6 = [];
    this.linkLocal = new Uint32Array(n * 4);
    this.linkMacBytes = new Uint8Array(n * 6);
    const conf = (name: string, key: string, dflt: number): [number, number] => [
      num(`net.ipv4.conf.all.${key}`, dflt),
      num(`net.ipv4.conf.${name}.${key}`, dflt),
    ];
    for (let l = 0; l < n; l++) {
      const name = fib.linkName[l] ?? '';
      const max = (key: string, d: number): number => Math.max(...conf(name, key, d));
      const or = (key: string, d: number): number => {
        const [a, b] = conf(name, key, d);
        return a || b ? 1 : 0;
      };
      this.arpIgnore[l] = max('arp_ignore', 0);
      this.arpAnnounce[l] = max('arp_announce', 0);
      this.arpAccept[l] = max('arp_accept', 0);
      this.arpFilter[l] = or('arp_filter', 0);
      // send_redirects and shared_media default to 1 on every interface
      this.sendRedirects[l] = or('send_redirects', 1);
      this.sharedMedia[l] = or('shared_media', 1);
      this.routeLocalnet[l] = or('route_localnet', 0);
      this.neigh4.push(neighParms(num, `net.ipv4.neigh.${name}.`));
      this.neigh6.push(neighParms(num, `net.ipv6.neigh.${name}.`));
      // EUI-64 link-local address from the MAC (addr_gen_mode 0)
      const mac = fib.linkMac[l];
      writeMac(this.linkMacBytes, l * 6, mac);
      const hi = Math.floor(mac / 0x1000000); // first three bytes
      const lo = mac % 0x1000000; // last three bytes
      const b0 = ((hi >>> 16) & 0xff) ^ 2;
      this.linkLocal[l * 4] = 0xfe800000;
      this.linkLocal[l * 4 + 1] = 0;
      this.linkLocal[l * 4 + 2] = ((b0 << 24) | ((hi & 0xffff) << 8) | 0xff) >>> 0;
      this.linkLocal[l * 4 + 3] = ((0xfe << 24) | lo) >>> 0;
    }
    let v6 = false;
    const bc: number[] = [];
    for (let i = 0; i < fib.addrCount; i++) {
      if (fib.addrAf[i] === 6) v6 = true;
      else if (fib.addrPlen[i] <= 30) {
        const p = fib.addrPlen[i];
        const host = p === 0 ? 0xffffffff : ~(~0 << (32 - p)) >>> 0;
        const b = (fib.addrWords[i * 4] | host) >>> 0;
        if (!bc.includes(b)) bc.push(b);
      }
    }
    this.ipv6On = v6;
    this.bcast4 = Uint32Array.from(bc);
  }

  /** An IPv4 address the kernel routes as broadcast (limited, or a subnet's broadcast). */
  isBroadcast4(a: number): boolean {
    if (a >>> 0 === 0xffffffff) return true;
    const b = this.bcast4;
    for (let i = 0; i < b.length; i++) if (b[i] === a >>> 0) return true;
    return false;
  }
}

function neighParms(num: (key: string, d: number) => number, prefix: string): NeighParms {
  const p = new NeighParms();
  const all = prefix.replace(/neigh\.[^.]*\.$/, 'neigh.default.');
  const get = (key: string, d: number): number => num(prefix + key, num(all + key, d));
  p.ucastProbes = get('ucast_solicit', 3);
  p.mcastProbes = get('mcast_solicit', 3);
  p.appProbes = get('app_solicit', 0);
  p.mcastReprobes = get('mcast_resolicit', 0);
  p.retransMs = get('retrans_time_ms', 1000);
  p.delayProbeMs = get('delay_first_probe_time', 5) * 1000;
  p.reachableMs = get('base_reachable_time_ms', 30000);
  p.locktimeMs = get('locktime', 100) * 10;
  return p;
}
