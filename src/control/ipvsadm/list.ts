/**
 * ipvsadm 1.31's listings, byte for byte, for a state passed in (so a replay
 * can list its end state): `-L` in every format (`-n`, `--stats`, `--rate`,
 * `--exact`, `--thresholds`, `--persistent-conn`, `--tun-info`, `--nosort`,
 * one service with `-t/-u/-f/--sctp-service`), `--timeout`, `--daemon`,
 * `-c` (connection entries) and the rule format that `-S` prints.
 *
 * Mirrors list_all(), list_service(), print_title(), print_service_entry(),
 * print_largenum(), print_sched_flags(), list_conn()/print_conn(),
 * list_timeout() and list_daemon() of ipvsadm.c, and the kernel's
 * /proc/net/ip_vs_conn fields that -c reads. Addresses are shown numerically
 * (but 127.0.0.1 as localhost, as the oracle's /etc/hosts names it); port
 * names come from the built-in services table.
 */
import type { Af, IpAddr } from '../../wire/addr.js';
import type { Ipvs, SyncDaemonConfig } from '../../ipvs/ctl.js';
import type { Host } from '../../ipvs/host.js';
import { Fwd, Proto, SvcFlag, TunType, type Dest, type Service } from '../../ipvs/service.js';
import { Fmt } from './args.js';
import { glibcQsort, ntoa, padLeft, padRight, wrapDiff32 } from './libc.js';
import { portToService } from './services.js';

/** The five rates the kernel's estimator keeps per service and real server (ipvsadm --rate). */
export interface RateValues {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

/** One connection or persistence template as `ipvsadm -Lc` shows it (a /proc/net/ip_vs_conn line). */
export interface ConnListEntry {
  /** IP protocol number; 0 (`IP`) for the template of a firewall-mark service. */
  protocol: number;
  /** Address family of the client and virtual addresses. */
  af: Af;
  /** A persistence template (shown with client port 0). */
  template: boolean;
  /** The state name the kernel prints (`ESTABLISHED`, `SYN_RECV`, `UDP`, `NONE`, `ASSURED`, …). */
  stateName: string;
  /** Time left on the entry's timer, milliseconds (printed as MM:SS, truncated to seconds). */
  expiresMs: number;
  caddr: IpAddr;
  cport: number;
  /** Virtual address; for a firewall-mark template the mark as an IPv4-style address (the kernel's layout). */
  vaddr: IpAddr;
  vport: number;
  /** Real server address (its own family, which may differ for a tunnel). */
  daddr: IpAddr;
  dport: number;
  /** Firewall mark of the connection's service (0 for none); not printed. */
  fwmark: number;
  /** Persistence engine name and data (`--persistent-conn`); absent or '' when none. */
  peName?: string;
  peData?: string;
}

/** What a listing shows: the control plane, the connection entries and, optionally, rates. */
export interface ListState {
  ipvs: Ipvs;
  conns: readonly ConnListEntry[];
  /** Estimated rates per service and per real server (`--rate`); zero when absent. */
  rates?: ReadonlyMap<Service | Dest, RateValues>;
  /** The director as a host, when known: `--start-daemon` checks its multicast interface. */
  host?: Host;
  /**
   * The low byte of the kernel's per-boot `netns_ipvs` address, which its
   * service hash mixes in: it decides the `--nosort` order of services. Random
   * on a real kernel; 0 unless given.
   */
  serviceHashSalt?: number;
}

/** IPVS version and connection table size the header line shows (IP_VS_VERSION_CODE, 2^CONFIG_IP_VS_TAB_BITS). */
export const IPVS_VERSION = '1.2.1';
export const CONN_TAB_SIZE = 4096;

const ZERO_RATES: RateValues = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };

function protoLower(p: number): string {
  return p === Proto.TCP ? 'tcp' : p === Proto.UDP ? 'udp' : p === Proto.SCTP ? 'sctp' : '';
}

/**
 * The host names the simulated director knows (gethostbyaddr() through its
 * /etc/hosts, which holds only `127.0.0.1 localhost`): every other address is
 * shown numerically, as on a host without DNS.
 */
function hostName(addr: IpAddr): string | undefined {
  return addr.af === 4 && addr.w0 === 0x7f000001 ? 'localhost' : undefined;
}

/** Mirrors addrport_to_anyname(): `addr:port`, `[v6]:port`; host and port names unless numeric. */
export function addrPortName(addr: IpAddr, port: number, protocol: number, format: number): string {
  const a = addr.toString();
  if (format & Fmt.NUMERIC) return addr.af === 4 ? `${a}:${port}` : `[${a}]:${port}`;
  const h = hostName(addr) ?? a;
  const host = addr.af === 4 ? h : `[${h}]`;
  const name = protoLower(protocol) ? portToService(port, protoLower(protocol)) : undefined;
  return `${host}:${name ?? String(port)}`;
}

/** Mirrors print_largenum(): 9 columns, K/M/G/T above 10^8 unless --exact. */
export function largeNum(i: number, format: number): string {
  if (format & Fmt.EXACT) {
    const s = String(i);
    return padLeft(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (i < 100000000) return padLeft(String(i), 9);
  if (i < 1000000000) return padLeft(String(Math.floor(i / 1000)), 8) + 'K';
  if (i < 100000000000) return padLeft(String(Math.floor(i / 1000000)), 8) + 'M';
  if (i < 100000000000000) return padLeft(String(Math.floor(i / 1000000000)), 8) + 'G';
  return padLeft(String(Math.floor(i / 1000000000000)), 8) + 'T';
}

/** Mirrors print_sched_flags(): names depend on the scheduler. */
function schedFlagsText(svc: Service): string {
  const f: string[] = [];
  if (svc.schedName === 'sh') {
    if (svc.flags & SvcFlag.SCHED1) f.push('sh-fallback');
    if (svc.flags & SvcFlag.SCHED2) f.push('sh-port');
  } else if (svc.schedName === 'mh') {
    if (svc.flags & SvcFlag.SCHED1) f.push('mh-fallback');
    if (svc.flags & SvcFlag.SCHED2) f.push('mh-port');
  } else {
    if (svc.flags & SvcFlag.SCHED1) f.push('flag-1');
    if (svc.flags & SvcFlag.SCHED2) f.push('flag-2');
    if (svc.flags & SvcFlag.SCHED3) f.push('flag-3');
  }
  return f.join(',');
}

const SCHED_FLAGS = SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3;

function fwdSwitch(fwd: number): string {
  return fwd === Fwd.MASQ ? '-m' : fwd === Fwd.TUNNEL ? '-i' : '-g';
}

/** ipvsadm's listing name of a forwarding method (fwd_name()). */
export function fwdListName(fwd: number): string {
  switch (fwd) {
    case Fwd.MASQ:
      return 'Masq';
    case Fwd.LOCALNODE:
      return 'Local';
    case Fwd.TUNNEL:
      return 'Tunnel';
    case Fwd.DROUTE:
      return 'Route';
    default:
      return '(null)';
  }
}

const TUN_FLAG_NAMES = ['-c', '+c', 'r+c'];
const TUN_FLAG_OPTS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];

/** Mirrors fwd_tun_info(): `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS`, or undefined (shown as n/a). */
function tunInfo(d: Dest): string | undefined {
  if (d.fwd !== Fwd.TUNNEL) return undefined;
  let s: string;
  if (d.tunType === TunType.IPIP) s = 'ipip';
  else if (d.tunType === TunType.GUE) s = `gue:${d.tunPort}:${TUN_FLAG_NAMES[d.tunFlags] ?? ''}`;
  else if (d.tunType === TunType.GRE) s = `gre:${TUN_FLAG_NAMES[d.tunFlags] ?? ''}`;
  else return undefined;
  return s.slice(0, 15);
}

/** Mirrors print_tunnel_rule() and the plain `-a` rule line. */
function destRule(svcName: string, dname: string, d: Dest): string {
  const base = `-a ${svcName} -r ${dname} ${fwdSwitch(d.fwd)} -w ${d.weight}`;
  if (d.fwd !== Fwd.TUNNEL) return base;
  switch (d.tunType) {
    case TunType.GRE:
      return `${base} --tun-type gre ${TUN_FLAG_OPTS[d.tunFlags] ?? '(null)'}`;
    case TunType.GUE:
      return `${base} --tun-type gue --tun-port ${d.tunPort} ${TUN_FLAG_OPTS[d.tunFlags] ?? '(null)'}`;
    case TunType.IPIP:
      return `${base} --tun-type ipip`;
    default:
      return base;
  }
}

const AF_NUM = (af: Af): number => (af === 4 ? 2 : 10);

/** Mirrors ipvs_cmp_services() (with its wrap-around arithmetic). */
function cmpServices(a: Service, b: Service): number {
  let r = wrapDiff32(a.fwmark, b.fwmark);
  if (r) return r;
  r = AF_NUM(a.af) - AF_NUM(b.af);
  if (r) return r;
  r = a.protocol - b.protocol;
  if (r) return r;
  if (a.af === 6) {
    for (let i = 0; !r && i < 4; i++) r = wrapDiff32(a.addr.word(i), b.addr.word(i));
  } else r = wrapDiff32(a.addr.w0, b.addr.w0);
  if (r) return r;
  return a.port - b.port;
}

/** Mirrors ipvs_cmp_dests(). */
function cmpDests(a: Dest, b: Dest): number {
  let r = 0;
  if (a.af === 6) {
    for (let i = 0; !r && i < 4; i++) r = wrapDiff32(a.addr.word(i), b.addr.word(i));
  } else r = wrapDiff32(a.addr.w0, b.addr.w0);
  if (r) return r;
  return a.port - b.port;
}

/** Mirrors ip_vs_svc_hashkey() / ip_vs_svc_fwm_hashkey(): the service's bucket of 256. */
function svcBucket(s: Service, salt: number): number {
  if (s.fwmark) return (salt ^ s.fwmark) & 255;
  const fold = s.af === 6 ? s.addr.w0 ^ s.addr.w1 ^ s.addr.w2 ^ s.addr.w3 : s.addr.w0;
  return (s.protocol ^ fold ^ salt ^ (s.port >>> 8) ^ s.port) & 255;
}

/**
 * Services in listing order: sorted as ipvsadm sorts them, or with --nosort in
 * the kernel's dump order (ip_vs_genl_dump_services(): the address table's
 * buckets, then the firewall-mark table's, newest first within a bucket).
 */
export function servicesInListOrder(ipvs: Ipvs, format: number, salt = 0): Service[] {
  if (!(format & Fmt.NOSORT)) return glibcQsort(ipvs.services, cmpServices);
  const age = new Map(ipvs.services.map((s, i) => [s, i]));
  return ipvs.services
    .slice()
    .sort(
      (a, b) =>
        (a.fwmark ? 1 : 0) - (b.fwmark ? 1 : 0) ||
        svcBucket(a, salt) - svcBucket(b, salt) ||
        (age.get(b) as number) - (age.get(a) as number),
    );
}

/** Real servers in listing order (sorted unless --nosort: then the kernel's list order, newest first). */
export function destsInListOrder(svc: Service, format: number): Dest[] {
  return format & Fmt.NOSORT ? svc.dests.slice() : glibcQsort(svc.dests, cmpDests);
}

/** Mirrors print_title(). */
export function titleText(format: number): string {
  const pl = padRight('Prot LocalAddress:Port', 33);
  if (format & Fmt.STATS)
    return `${pl} ${padLeft('Conns', 8)} ${padLeft('InPkts', 8)} ${padLeft('OutPkts', 8)} ${padLeft('InBytes', 8)} ${padLeft('OutBytes', 8)}\n  -> RemoteAddress:Port\n`;
  if (format & Fmt.RATE)
    return `${pl} ${padLeft('CPS', 8)} ${padLeft('InPPS', 8)} ${padLeft('OutPPS', 8)} ${padLeft('InBPS', 8)} ${padLeft('OutBPS', 8)}\n  -> RemoteAddress:Port\n`;
  if (format & Fmt.THRESHOLDS)
    return `${pl} ${padRight('Uthreshold', 10)} ${padRight('Lthreshold', 10)} ${padRight('ActiveConn', 10)} ${padRight('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (format & Fmt.PERSISTENTCONN)
    return `${pl} ${padRight('Weight', 9)} ${padRight('PersistConn', 11)} ${padRight('ActiveConn', 10)} ${padRight('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (format & Fmt.TUN_INFO)
    return (
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n'
    );
  if (!(format & Fmt.RULE))
    return (
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n'
    );
  return '';
}

/** printf("%d") of an unsigned 32-bit value (ipvsadm 1.31 prints marks signed). */
function cInt(u: number): string {
  return String(u | 0);
}

/** The service's name as print_service_entry() builds it. */
function serviceName(svc: Service, format: number): string {
  if (svc.fwmark) {
    if (format & Fmt.RULE) return svc.af === 6 ? `-f ${cInt(svc.fwmark)} -6` : `-f ${cInt(svc.fwmark)}`;
    return svc.af === 6 ? `FWM  ${cInt(svc.fwmark)} IPv6` : `FWM  ${cInt(svc.fwmark)}`;
  }
  const vname = addrPortName(svc.addr, svc.port, svc.protocol, format);
  if (format & Fmt.RULE) {
    const opt =
      svc.protocol === Proto.TCP
        ? '-t'
        : svc.protocol === Proto.UDP
          ? '-u'
          : svc.protocol === Proto.SCTP
            ? '--sctp-service'
            : '--xxx-service';
    return `${opt} ${vname}`;
  }
  const pname =
    svc.protocol === Proto.TCP
      ? 'TCP'
      : svc.protocol === Proto.UDP
        ? 'UDP'
        : svc.protocol === Proto.SCTP
          ? 'SCTP'
          : '?';
  const s = `${padRight(pname, 4)} ${vname}`;
  return svc.af !== 6 ? s.slice(0, 33) : s;
}

function rateOf(state: ListState, x: Service | Dest): RateValues {
  return state.rates?.get(x) ?? ZERO_RATES;
}

/** Mirrors print_service_entry(): the service line and its real servers' lines. */
export function serviceEntryText(svc: Service, format: number, state: ListState): string {
  const svcName = serviceName(svc, format);
  let out: string;
  if (format & Fmt.RULE) {
    out = `-A ${svcName} -s ${svc.schedName}`;
    if (svc.flags & SvcFlag.PERSISTENT) {
      out += ` -p ${svc.timeout}`;
      if (svc.af === 4 && svc.netmask >>> 0 !== 0xffffffff) out += ` -M ${ntoa(svc.netmask)}`;
      if (svc.af === 6 && svc.netmask !== 128) out += ` -M ${svc.netmask}`;
    }
    if (svc.peName) out += ` --pe ${svc.peName}`;
    if (svc.flags & SvcFlag.ONEPACKET) out += ' -o';
    if (svc.flags & SCHED_FLAGS) out += ` -b ${schedFlagsText(svc)}`;
  } else if (format & Fmt.STATS) {
    const s = svc.stats;
    out =
      padRight(svcName, 33) +
      largeNum(s.conns, format) +
      largeNum(s.inpkts, format) +
      largeNum(s.outpkts, format) +
      largeNum(s.inbytes, format) +
      largeNum(s.outbytes, format);
  } else if (format & Fmt.RATE) {
    const r = rateOf(state, svc);
    out =
      padRight(svcName, 33) +
      largeNum(r.cps, format) +
      largeNum(r.inpps, format) +
      largeNum(r.outpps, format) +
      largeNum(r.inbps, format) +
      largeNum(r.outbps, format);
  } else {
    out = `${svcName} ${svc.schedName}`;
    if (svc.flags & SCHED_FLAGS) out += ` (${schedFlagsText(svc)})`;
    if (svc.flags & SvcFlag.PERSISTENT) {
      out += ` persistent ${svc.timeout}`;
      if (svc.af === 4 && svc.netmask >>> 0 !== 0xffffffff) out += ` mask ${ntoa(svc.netmask)}`;
      if (svc.af === 6 && svc.netmask !== 128) out += ` mask ${svc.netmask}`;
      if (svc.peName) out += ` pe ${svc.peName}`;
    }
    if (svc.flags & SvcFlag.ONEPACKET) out += ' ops';
  }
  out += '\n';

  // the kernel does not report a firewall-mark service's protocol: ipvsadm sees 0 (no port names)
  const proto = svc.fwmark ? 0 : svc.protocol;
  for (const d of destsInListOrder(svc, format)) {
    let dname = addrPortName(d.addr, d.port, proto, format);
    if (!(format & Fmt.RULE) && d.af !== 6) dname = dname.slice(0, 28);
    const dn = padRight(dname, 28);
    if (format & Fmt.RULE) {
      out += destRule(svcName, dname, d) + '\n';
    } else if (format & Fmt.STATS) {
      const s = d.stats;
      out +=
        `  -> ${dn}` +
        largeNum(s.conns, format) +
        largeNum(s.inpkts, format) +
        largeNum(s.outpkts, format) +
        largeNum(s.inbytes, format) +
        largeNum(s.outbytes, format) +
        '\n';
    } else if (format & Fmt.RATE) {
      const r = rateOf(state, d);
      out +=
        `  -> ${dn} ${padLeft(String(r.cps), 8)} ${padLeft(String(r.inpps), 8)} ${padLeft(String(r.outpps), 8)}` +
        largeNum(r.inbps, format) +
        largeNum(r.outbps, format) +
        '\n';
    } else if (format & Fmt.THRESHOLDS) {
      out += `  -> ${dn} ${padRight(String(d.uThreshold), 10)} ${padRight(String(d.lThreshold), 10)} ${padRight(String(d.activeConns), 10)} ${padRight(String(d.inactConns), 10)}\n`;
    } else if (format & Fmt.PERSISTENTCONN) {
      out += `  -> ${dn} ${padRight(String(d.weight), 9)} ${padRight(String(d.persistConns), 11)} ${padRight(String(d.activeConns), 10)} ${padRight(String(d.inactConns), 10)}\n`;
    } else if (format & Fmt.TUN_INFO) {
      out += `  -> ${dn} ${padRight(fwdListName(d.fwd), 7)} ${padRight(tunInfo(d) ?? 'n/a', 13)} ${padRight(String(d.weight), 6)} ${padRight(String(d.activeConns), 10)} ${padRight(String(d.inactConns), 10)}\n`;
    } else {
      out += `  -> ${dn} ${padRight(fwdListName(d.fwd), 7)} ${padRight(String(d.weight), 6)} ${padRight(String(d.activeConns), 10)} ${padRight(String(d.inactConns), 10)}\n`;
    }
  }
  return out;
}

/** The header line of `ipvsadm -L` (not printed for -S or one service). */
export function headerText(): string {
  return `IP Virtual Server version ${IPVS_VERSION} (size=${CONN_TAB_SIZE})\n`;
}

/** Mirrors list_all(): header (unless -S), title, every service. */
export function listAllText(format: number, state: ListState): string {
  let out = format & Fmt.RULE ? '' : headerText();
  out += titleText(format);
  for (const svc of servicesInListOrder(state.ipvs, format, state.serviceHashSalt ?? 0))
    out += serviceEntryText(svc, format, state);
  return out;
}

/** Mirrors list_timeout(). */
export function timeoutText(ipvs: Ipvs): string {
  const t = ipvs.timeouts.get();
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}

/** ip_vs_proto_name(): the protocol column of /proc/net/ip_vs_conn. */
export function kernelProtoName(p: number): string {
  switch (p) {
    case Proto.TCP:
      return 'TCP';
    case Proto.UDP:
      return 'UDP';
    case Proto.SCTP:
      return 'SCTP';
    case 0:
      return 'IP';
    case 1:
      return 'ICMP';
    case 58:
      return 'ICMPv6';
    case 50:
      return 'ESP';
    case 51:
      return 'AH';
    default:
      return `IP_${p}`;
  }
}

/** Mirrors list_conn()/print_conn(): `IPVS connection entries`, then one line per entry. */
export function connListText(format: number, conns: readonly ConnListEntry[]): string {
  let out = 'IPVS connection entries\n';
  if (format & Fmt.PERSISTENTCONN)
    out += `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} ${padRight('destination', 18)} ${padRight('pe name', 16)} pe_data\n`;
  else
    out += `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} destination\n`;
  for (const c of conns) {
    const pname = kernelProtoName(c.protocol);
    // ipvsadm maps the protocol text back to a number for port names: TCP/UDP/SCTP only
    const proto =
      pname === 'TCP' ? Proto.TCP : pname === 'UDP' ? Proto.UDP : pname === 'SCTP' ? Proto.SCTP : 0;
    const cname = addrPortName(c.caddr, c.cport, proto, format);
    const vname = addrPortName(c.vaddr, c.vport, proto, format);
    const dname = addrPortName(c.daddr, c.dport, proto, format);
    const secs = Math.max(0, Math.floor(c.expiresMs / 1000));
    const expire = `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
    const state = c.stateName.split(/\s/)[0] ?? '';
    const head = `${padRight(pname, 3)} ${padRight(expire, 6)} ${padRight(state, 11)} ${padRight(cname, 18)} ${padRight(vname, 18)}`;
    if (format & Fmt.PERSISTENTCONN && c.peName && c.peData)
      out += `${head} ${padRight(dname, 16)} ${padRight(c.peName, 18)} ${c.peData}\n`;
    else out += `${head} ${dname}\n`;
  }
  return out;
}

/** Mirrors list_daemon(): one line per running sync daemon, master first. */
export function daemonText(ipvs: Ipvs): string {
  let out = '';
  const line = (type: string, d: SyncDaemonConfig) => {
    out += `${type} sync daemon (mcast=${d.mcastIfn}, syncid=${d.syncid}`;
    if (d.syncMaxlen) out += `, maxlen=${d.syncMaxlen}`;
    out += `, group=${d.mcastGroup}`;
    if (d.mcastPort) out += `, port=${d.mcastPort}`;
    if (d.mcastTtl) out += `, ttl=${d.mcastTtl}`;
    out += ')\n';
  };
  if (ipvs.syncDaemons.master) line('master', ipvs.syncDaemons.master);
  if (ipvs.syncDaemons.backup) line('backup', ipvs.syncDaemons.backup);
  return out;
}
