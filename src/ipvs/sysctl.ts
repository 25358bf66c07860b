/**
 * The director's sysctls: every `net.ipv4.vs.*` key of Linux 6.1 with its
 * default (as `sysctl -a` prints them on the oracle's 6.1 kernel), plus the
 * handful of `net.ipv4` / `net.ipv6` host keys that lab guides set.
 *
 * Every key is accepted; `MODELLED` lists those that change what the
 * simulator does (docs/sysctl.md says how). The others are stored and listed
 * but have no effect (sync daemon tuning, memory defence thresholds that depend
 * on the host's free memory, …).
 */

/**
 * Defaults of net.ipv4.vs.* on 6.1 (values that are vectors are kept as text),
 * checked against the 6.1 sources (ip_vs_ctl.c vs_vars and
 * ip_vs_control_net_init_sysctl(), ip_vs_lblc.c, ip_vs_lblcr.c):
 * - sync_qlen_max defaults to the free buffer pages / 32 of the machine; the
 *   value here is the one of the oracle's 512 MB guest.
 * - lblc_expiration / lblcr_expiration exist once those schedulers' modules
 *   are loaded (24 h, printed in seconds).
 * - debug_level exists only on kernels built with CONFIG_IP_VS_DEBUG: Debian's
 *   6.1 (the oracle) has no such key, so it is not accepted; conntrack needs
 *   CONFIG_IP_VS_NFCT (Debian has it).
 * - est_cpulist / est_nice appeared in 6.2 and are not 6.1 keys.
 */
export const VS_DEFAULTS: Readonly<Record<string, number | string>> = {
  am_droprate: 10,
  amemthresh: 1024,
  backup_only: 0,
  cache_bypass: 0,
  conn_reuse_mode: 1,
  conntrack: 0,
  drop_entry: 0,
  drop_packet: 0,
  expire_nodest_conn: 0,
  expire_quiescent_template: 0,
  ignore_tunneled: 0,
  lblc_expiration: 86400,
  lblcr_expiration: 86400,
  nat_icmp_send: 0,
  pmtu_disc: 1,
  run_estimation: 1,
  schedule_icmp: 0,
  secure_tcp: 0,
  sloppy_sctp: 0,
  sloppy_tcp: 0,
  snat_reroute: 1,
  sync_persist_mode: 0,
  sync_ports: 1,
  sync_qlen_max: 3628,
  sync_refresh_period: 0,
  sync_retries: 0,
  sync_sock_size: 0,
  sync_threshold: '3\t50',
  sync_version: 1,
};

/** net.ipv4.vs.* keys whose value changes the simulation. */
export const MODELLED: ReadonlySet<string> = new Set([
  'conn_reuse_mode',
  'expire_nodest_conn',
  'expire_quiescent_template',
  'sloppy_tcp',
  'sloppy_sctp',
  'pmtu_disc',
  'nat_icmp_send',
  'lblc_expiration',
  'lblcr_expiration',
  'drop_entry',
  'schedule_icmp',
  'ignore_tunneled',
  'run_estimation',
  'secure_tcp',
  'cache_bypass',
  'conntrack',
  'snat_reroute',
]);

/** Host keys (outside net.ipv4.vs) that the simulator accepts. */
const HOST_KEY_PATTERNS: readonly RegExp[] = [
  /^net\.ipv4\.ip_forward$/,
  /^net\.ipv4\.conf\.[A-Za-z0-9_.@-]+\.(forwarding|rp_filter|arp_ignore|arp_announce|accept_redirects|send_redirects|accept_source_route|log_martians|proxy_arp|accept_local|route_localnet)$/,
  /^net\.ipv6\.conf\.[A-Za-z0-9_.@-]+\.(forwarding|disable_ipv6|accept_ra|accept_dad|autoconf)$/,
  /^net\.ipv4\.ip_nonlocal_bind$/,
  /^net\.ipv4\.ip_default_ttl$/,
  /^net\.ipv4\.tcp_[a-z_]+$/,
  /^net\.core\.[a-z_]+$/,
  /^net\.ipv4\.neigh\.[A-Za-z0-9_.@-]+\.[a-z_]+$/,
  /^net\.ipv4\.ip_local_port_range$/,
  // the host stack's keys (src/ipvs/stack/config.ts reads them)
  /^net\.ipv4\.icmp_(ratelimit|ratemask|msgs_per_sec|msgs_burst|echo_ignore_all|echo_ignore_broadcasts|errors_use_inbound_ifaddr)$/,
  /^net\.ipv4\.ipfrag_(time|high_thresh|low_thresh|max_dist)$/,
  /^net\.ipv4\.route\.(min_pmtu|mtu_expires)$/,
  /^net\.ipv4\.conf\.[A-Za-z0-9_.@-]+\.(arp_filter|arp_accept|shared_media)$/,
  /^net\.ipv6\.icmp\.(ratelimit|echo_ignore_all|echo_ignore_multicast)$/,
  /^net\.ipv6\.ip6frag_(time|high_thresh|low_thresh)$/,
  /^net\.ipv6\.route\.mtu_expires$/,
  /^net\.ipv6\.neigh\.[A-Za-z0-9_.@-]+\.[a-z_]+$/,
];

/** Host keys with a default that the simulation reads. */
const HOST_DEFAULTS: Readonly<Record<string, number | string>> = {
  'net.ipv4.ip_forward': 0,
  'net.ipv4.ip_default_ttl': 64,
  'net.ipv6.conf.all.forwarding': 0,
};

/**
 * The value range the kernel's handler accepts for some vs keys (others: any
 * integer): proc_do_sync_mode, proc_do_defense_mode, proc_dointvec_minmax,
 * proc_doulongvec_minmax. sync_ports (a power of two) and sync_threshold
 * (proc_do_sync_threshold) are checked in Sysctls.set().
 */
const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  sync_version: [0, 1],
  drop_entry: [0, 3],
  drop_packet: [0, 3],
  secure_tcp: [0, 3],
  sync_retries: [0, 3],
  sync_qlen_max: [0, Number.MAX_SAFE_INTEGER],
  sync_ports: [1, 0x7fffffff],
};

export class SysctlError extends Error {}

/** The sysctl store of one simulated director. */
export class Sysctls {
  private readonly values = new Map<string, number | string>();
  /** Fast copies of the modelled vs keys, read on the hot path. */
  expireNodestConn = 0;
  expireQuiescentTemplate = 0;
  sloppyTcp = 0;
  sloppySctp = 0;
  connReuseMode = 1;
  pmtuDisc = 1;
  natIcmpSend = 0;
  ipForward = 0;
  ipv6Forward = 0;
  scheduleIcmp = 0;
  ignoreTunneled = 0;
  dropEntry = 0;
  cacheBypass = 0;
  /** net.ipv4.conf.all.route_localnet: 127/8 sources are not martians. */
  routeLocalnet = 0;
  /** net.ipv4.conf.all.accept_local: packets with one of our addresses as source are accepted. */
  acceptLocal = 0;

  constructor() {
    for (const [k, v] of Object.entries(VS_DEFAULTS)) this.values.set(`net.ipv4.vs.${k}`, v);
    for (const [k, v] of Object.entries(HOST_DEFAULTS)) this.values.set(k, v);
    this.sync();
  }

  /** Normalises `net/ipv4/vs/x`, `/proc/sys/net/ipv4/vs/x` and `net.ipv4.vs.x` to dotted form. */
  static normalise(key: string): string {
    let k = key.trim();
    if (k.startsWith('/proc/sys/')) k = k.slice('/proc/sys/'.length);
    if (k.includes('/')) k = k.split('/').join('.');
    return k;
  }

  /** True when `key` (dotted form) is a key this simulator accepts. */
  static isKnown(key: string): boolean {
    if (key.startsWith('net.ipv4.vs.')) return Object.hasOwn(VS_DEFAULTS, key.slice('net.ipv4.vs.'.length));
    return HOST_KEY_PATTERNS.some((re) => re.test(key));
  }

  /** Sets a key; throws SysctlError naming what is wrong. */
  set(keyText: string, valueText: string): void {
    const key = Sysctls.normalise(keyText);
    if (!Sysctls.isKnown(key)) throw new SysctlError(`unknown sysctl key '${key}'`);
    const v = valueText.trim();
    if (key === 'net.ipv4.vs.sync_threshold' || key === 'net.ipv4.ip_local_port_range') {
      const parts = v.split(/\s+/);
      if (parts.length !== 2 || !parts.every((p) => /^-?\d+$/.test(p)))
        throw new SysctlError(`'${key}' takes two integers, got '${v}'`);
      if (key === 'net.ipv4.vs.sync_threshold') {
        const [a, b] = parts.map(Number);
        // proc_do_sync_threshold: both >= 0, and the first below the second unless the second is 0
        if (a < 0 || b < 0 || (a >= b && b !== 0))
          throw new SysctlError(
            `'${key}' takes THRESHOLD PERIOD with THRESHOLD < PERIOD (or PERIOD 0), got '${v}' (Invalid argument)`,
          );
      }
      this.values.set(key, parts.join('\t'));
      return;
    }
    if (!/^-?\d+$/.test(v)) throw new SysctlError(`'${key}' takes an integer, got '${v}'`);
    const n = Number(v);
    const short = key.startsWith('net.ipv4.vs.') ? key.slice('net.ipv4.vs.'.length) : '';
    const range = RANGES[short];
    if (range && (n < range[0] || n > range[1]))
      throw new SysctlError(
        `'${key}' must be between ${range[0]} and ${range[1]}, got ${n} (Invalid argument)`,
      );
    if (short === 'sync_ports' && (n & (n - 1)) !== 0)
      throw new SysctlError(`'${key}' must be a power of two, got ${n} (Invalid argument)`);
    this.values.set(key, n);
    this.sync();
  }

  /** The value of a key in dotted form (undefined when never set and without default). */
  get(key: string): number | string | undefined {
    return this.values.get(Sysctls.normalise(key));
  }

  /** A numeric net.ipv4.vs.* value by its short name (0 when not numeric). */
  vs(name: string): number {
    const v = this.values.get(`net.ipv4.vs.${name}`);
    return typeof v === 'number' ? v : 0;
  }

  /** All keys and values, sorted, as `sysctl -a` would list them. */
  entries(): [string, number | string][] {
    return [...this.values.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  private num(key: string): number {
    const v = this.values.get(key);
    return typeof v === 'number' ? v : 0;
  }

  private sync(): void {
    this.expireNodestConn = this.vs('expire_nodest_conn');
    this.expireQuiescentTemplate = this.vs('expire_quiescent_template');
    this.sloppyTcp = this.vs('sloppy_tcp');
    this.sloppySctp = this.vs('sloppy_sctp');
    this.connReuseMode = this.vs('conn_reuse_mode');
    this.pmtuDisc = this.vs('pmtu_disc');
    this.natIcmpSend = this.vs('nat_icmp_send');
    this.scheduleIcmp = this.vs('schedule_icmp');
    this.ignoreTunneled = this.vs('ignore_tunneled');
    this.dropEntry = this.vs('drop_entry');
    this.cacheBypass = this.vs('cache_bypass');
    this.routeLocalnet = this.num('net.ipv4.conf.all.route_localnet');
    this.acceptLocal = this.num('net.ipv4.conf.all.accept_local');
    this.ipForward = this.num('net.ipv4.ip_forward') || this.num('net.ipv4.conf.all.forwarding');
    this.ipv6Forward = this.num('net.ipv6.conf.all.forwarding');
  }
}
