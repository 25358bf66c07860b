/**
 * Director set-ups the robustness tests push hostile traffic through: one
 * LVS-DR and one LVS-NAT director, each with IPv4 and IPv6 TCP, UDP and SCTP
 * services, a persistent service and a firewall-mark service, so that a
 * frame addressed to a VIP reaches every kind of IPVS code path.
 */

/** The director's MAC on the client side (frames to it are "for us"). */
export const CLIENT_MAC = 0x020000000101;
/** The director's MAC on the server side. */
export const SERVER_MAC = 0x020000000201;
/** Real servers' MACs. */
export const RS_MACS = [0x02000000d002, 0x02000000d003];
/** A client's MAC (the gateway the director answers through). */
export const GW_MAC = 0x02000000c0fe;

export const VIP4 = '10.0.0.100';
export const VIP6 = '2001:db8::100';
export const CLIENT_NET4 = '10.0.0.';
export const RS4 = ['10.1.0.2', '10.1.0.3'];
export const RS6 = ['2001:db8:1::2', '2001:db8:1::3'];

function common(): string[] {
  return [
    'ip link set client address 02:00:00:00:01:01',
    'ip addr add 10.0.0.1/24 dev client',
    `ip addr add ${VIP4}/32 dev client`,
    'ip -6 addr add 2001:db8::1/64 dev client',
    `ip -6 addr add ${VIP6}/128 dev client`,
    'ip link set server address 02:00:00:00:02:01',
    'ip addr add 10.1.0.1/24 dev server',
    'ip -6 addr add 2001:db8:1::1/64 dev server',
    `ip neigh add ${RS4[0]} lladdr 02:00:00:00:d0:02 dev server`,
    `ip neigh add ${RS4[1]} lladdr 02:00:00:00:d0:03 dev server`,
    `ip -6 neigh add ${RS6[0]} lladdr 02:00:00:00:d0:02 dev server`,
    `ip -6 neigh add ${RS6[1]} lladdr 02:00:00:00:d0:03 dev server`,
    'ip neigh add 10.0.0.254 lladdr 02:00:00:00:c0:fe dev client',
    'ip neigh add 10.0.0.10 lladdr 02:00:00:00:c0:10 dev client',
    'ip neigh add 10.0.0.11 lladdr 02:00:00:00:c0:11 dev client',
    'ip -6 neigh add 2001:db8::10 lladdr 02:00:00:00:c0:10 dev client',
    'ip -6 neigh add 2001:db8::11 lladdr 02:00:00:00:c0:11 dev client',
    'ip -6 neigh add 2001:db8::fe lladdr 02:00:00:00:c0:fe dev client',
    'ip route add default via 10.0.0.254 dev client',
    'ip -6 route add default via 2001:db8::fe dev client',
    'sysctl -w net.ipv4.ip_forward=1',
    'sysctl -w net.ipv6.conf.all.forwarding=1',
    `iptables -t mangle -A PREROUTING -d ${VIP4}/32 -p udp --dport 7000:7999 -j MARK --set-mark 7`,
  ];
}

function services(fwd: '-g' | '-m', rport: (p: number) => string): string[] {
  const l: string[] = [];
  const add = (svc: string, sched: string, extra = ''): void => {
    l.push(`ipvsadm -A ${svc} -s ${sched}${extra}`);
  };
  const dests4 = (svc: string, port: number): void => {
    RS4.forEach((r, i) => l.push(`ipvsadm -a ${svc} -r ${r}${rport(port)} ${fwd} -w ${i + 1}`));
  };
  const dests6 = (svc: string, port: number): void => {
    RS6.forEach((r, i) => l.push(`ipvsadm -a ${svc} -r [${r}]${rport(port)} ${fwd} -w ${i + 1}`));
  };
  add(`-t ${VIP4}:80`, 'rr');
  dests4(`-t ${VIP4}:80`, 80);
  add(`-t ${VIP4}:443`, 'wlc', ' -p 60');
  dests4(`-t ${VIP4}:443`, 443);
  add(`-u ${VIP4}:53`, 'wrr');
  dests4(`-u ${VIP4}:53`, 53);
  add(`--sctp-service ${VIP4}:5060`, 'sh');
  dests4(`--sctp-service ${VIP4}:5060`, 5060);
  add('-f 7', 'lc');
  RS4.forEach((r) => l.push(`ipvsadm -a -f 7 -r ${r} ${fwd}`));
  add(`-t [${VIP6}]:80`, 'rr');
  dests6(`-t [${VIP6}]:80`, 80);
  add(`-u [${VIP6}]:53`, 'mh');
  dests6(`-u [${VIP6}]:53`, 53);
  return l;
}

/** LVS-DR: every real server with -g (on the service's port). */
export const DR_SETUP = [...common(), ...services('-g', (p) => `:${p}`)].join('\n') + '\n';

/** LVS-NAT: every real server with -m, ports mapped (80 -> 8080, …). */
export const NAT_SETUP =
  [...common(), ...services('-m', (p) => `:${p === 53 ? 5353 : p + 8000}`)].join('\n') + '\n';

export const SETUPS: readonly { name: string; text: string }[] = [
  { name: 'DR', text: DR_SETUP },
  { name: 'NAT', text: NAT_SETUP },
];
