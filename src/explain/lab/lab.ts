/**
 * `ipvs-sim lab dr|nat|tun`: the classic LVS lab, simulated end to end — a
 * client, a switch, the director (the real Director with the guide's
 * set-up), two real servers answering HTTP with their own name, and for
 * NAT the second network (and, to show what goes wrong without the
 * director as the real servers' gateway, a router). The client makes N
 * HTTP requests, one TCP connection each, one after the other; every frame
 * on every cable is recorded for the hop table and the per-link captures.
 *
 * Addresses are the guides': DR 172.25.40.x and TUN 172.25.84.x on one LAN
 * (director .1 with the VIP .100, real servers .2 and .3, client .250), NAT
 * 192.168.1.x (client .10, director .1, VIP .100) and 192.168.2.x (director
 * .1, real servers .2 and .3).
 */
import { Rng } from '../../ipvs/env.js';
import { IpAddr, macToString } from '../../wire/addr.js';
import { runIpvsadmListing } from '../../control/ipvsadm/index.js';
import { listState } from '../../replay/listing.js';
import { Sim, Switch, type WireFrame, type Nic } from './net.js';
import { LabHost, type HostConfig } from './host.js';
import { DirectorNode } from './director_node.js';
import type { ExchangeResult } from './tcp.js';

export type LabMode = 'dr' | 'nat' | 'tun';

export interface LabOptions {
  mode: LabMode;
  /** HTTP requests (one TCP connection each), at least 1. */
  requests: number;
  /** The director's set-up (default: the guide's, see `defaultDirectorSetup`). */
  setupText?: string | null;
  setupFile?: string;
  /** The real servers' arp_ignore (default 1, as the guides set it). */
  arpIgnore?: number;
  /** The real servers' arp_announce (default 2). */
  arpAnnounce?: number;
  /** The real servers' rp_filter (default 0; TUN needs 0 or 2). */
  rpFilter?: number;
  /** NAT: the real servers' default gateway: the director (default) or a separate router. */
  rsGateway?: 'director' | 'router';
  /** Body bytes of the last request (a POST); default 1460 for TUN (one full-size segment), 0 otherwise. */
  upload?: number | null;
  /** Seed of the lab's random choices (who answers ARP first) and the director's. */
  seed?: number;
  /** SYN retransmissions before the client gives up (Linux's tcp_syn_retries is 6; the lab's default 2). */
  synRetries?: number;
}

export interface LabHostInfo {
  name: string;
  role: string;
  /** `eth0 172.25.40.2/24 52:54:00:19:28:02`, `lo 172.25.40.100/32`, … */
  interfaces: string[];
}

export interface LabRequest {
  n: number;
  clientPort: number;
  /** ms */
  start: number;
  end: number;
  ok: boolean;
  /** The real server that answered (the response body), null when none did. */
  answeredBy: string | null;
  reason: string;
  /** Bytes of request body (POST), 0 for a GET. */
  upload: number;
}

export interface LabNote {
  t: number;
  host: string;
  text: string;
}

export interface LabResult {
  mode: LabMode;
  title: string;
  /** The networks, in words. */
  network: string;
  vip: string;
  hosts: LabHostInfo[];
  directorSetup: string;
  /** What the guide has the real servers do (shell commands), and the lab's settings. */
  realServerPrep: string[];
  requests: LabRequest[];
  frames: WireFrame[];
  notes: LabNote[];
  /** `ipvsadm -Ln` at the end. */
  listing: string;
  /** Who the client's ARP entry for the VIP points to at the end (`director`, `rs1`, …), null when it has none. */
  vipArpOwner: string | null;
  /** MAC → host name (for the hop table). */
  macNames: Map<number, string>;
  /** Every frame seen by each interface (sent or received), per `host-ifname`, for --pcap-dir. */
  captures: Map<string, { t: number; bytes: Uint8Array }[]>;
}

/** The lab's MAC for an address: 52:54:00 followed by the address's last three bytes. */
export function labMac(addr: string): number {
  const w = IpAddr.parse(addr).w0;
  return 0x525400000000 + (w & 0xffffff);
}

interface Topology {
  title: string;
  vip: string;
  net: string;
  switches: string[];
  client: HostConfig;
  realServers: HostConfig[];
  router: HostConfig | null;
  /** Switch of each director interface, by position (eth0, eth1). */
  directorLinks: { name: string; sw: string }[];
  /** Switch of each host interface: `host/ifname` → switch. */
  plug: Record<string, string>;
  prep: string[];
}

/** The director's set-up of the guide for `mode`. */
export function defaultDirectorSetup(mode: LabMode): string {
  const mac = (a: string): string => macToString(labMac(a));
  if (mode === 'nat')
    return [
      '# LVS-NAT director: eth0 on the clients’ network with the VIP, eth1 on the real servers’ network',
      `ip link set eth0 address ${mac('192.168.1.1')}`,
      'ip addr add 192.168.1.1/24 dev eth0',
      'ip addr add 192.168.1.100/24 dev eth0',
      `ip link set eth1 address ${mac('192.168.2.1')}`,
      'ip addr add 192.168.2.1/24 dev eth1',
      'sysctl -w net.ipv4.ip_forward=1',
      'ipvsadm -A -t 192.168.1.100:80 -s rr',
      'ipvsadm -a -t 192.168.1.100:80 -r 192.168.2.2:80 -m',
      'ipvsadm -a -t 192.168.1.100:80 -r 192.168.2.3:80 -m',
      '',
    ].join('\n');
  const n = mode === 'dr' ? 40 : 84;
  return [
    `# LVS-${mode === 'dr' ? 'DR' : 'TUN'} director: one interface, the VIP as a second address`,
    `ip link set eth0 address ${mac(`172.25.${n}.1`)}`,
    `ip addr add 172.25.${n}.1/24 dev eth0`,
    `ip addr add 172.25.${n}.100/24 dev eth0`,
    `ipvsadm -A -t 172.25.${n}.100:80 -s rr`,
    `ipvsadm -a -t 172.25.${n}.100:80 -r 172.25.${n}.2:80 ${mode === 'dr' ? '-g' : '-i'}`,
    `ipvsadm -a -t 172.25.${n}.100:80 -r 172.25.${n}.3:80 ${mode === 'dr' ? '-g' : '-i'}`,
    '',
  ].join('\n');
}

function topology(o: Required<Omit<LabOptions, 'setupText' | 'setupFile' | 'upload'>>): Topology {
  const rsSysctl = {
    arpIgnore: o.arpIgnore,
    arpAnnounce: o.arpAnnounce,
    rpFilter: o.rpFilter,
  };
  if (o.mode === 'nat') {
    const gw = o.rsGateway === 'router' ? '192.168.2.254' : '192.168.2.1';
    const rs = (name: string, a: string): HostConfig => ({
      name,
      role: 'real server',
      ifaces: [{ name: 'eth0', mac: labMac(a), addrs: [`${a}/24`] }],
      defaultVia: gw,
      ...rsSysctl,
    });
    const router: HostConfig | null =
      o.rsGateway === 'router'
        ? {
            name: 'router',
            role: 'router',
            ifaces: [
              { name: 'eth0', mac: labMac('192.168.2.254'), addrs: ['192.168.2.254/24'] },
              { name: 'eth1', mac: labMac('192.168.1.254'), addrs: ['192.168.1.254/24'] },
            ],
            ipForward: true,
          }
        : null;
    return {
      title: 'LVS-NAT',
      vip: '192.168.1.100',
      net: 'clients 192.168.1.0/24, real servers 192.168.2.0/24',
      switches: ['public', 'private'],
      client: {
        name: 'client',
        role: 'client',
        ifaces: [{ name: 'eth0', mac: labMac('192.168.1.10'), addrs: ['192.168.1.10/24'] }],
      },
      realServers: [rs('rs1', '192.168.2.2'), rs('rs2', '192.168.2.3')],
      router,
      directorLinks: [
        { name: 'eth0', sw: 'public' },
        { name: 'eth1', sw: 'private' },
      ],
      plug: {
        'client/eth0': 'public',
        'rs1/eth0': 'private',
        'rs2/eth0': 'private',
        'router/eth0': 'private',
        'router/eth1': 'public',
      },
      prep: [
        `ip route add default via ${gw}${o.rsGateway === 'router' ? '   # NOT the director: the lab shows what goes wrong' : '   # the director: replies must go back through it'}`,
      ],
    };
  }
  const n = o.mode === 'dr' ? 40 : 84;
  const vip = `172.25.${n}.100`;
  const rs = (name: string, a: string): HostConfig => ({
    name,
    role: 'real server',
    ifaces: [{ name: 'eth0', mac: labMac(a), addrs: [`${a}/24`] }],
    lo: o.mode === 'dr' ? [`${vip}/32`] : [],
    tunl0: o.mode === 'tun' ? [`${vip}/32`] : [],
    ...rsSysctl,
  });
  const prep =
    o.mode === 'dr'
      ? [`ip addr add ${vip}/32 dev lo`]
      : ['modprobe ipip', 'ip link set tunl0 up', `ip addr add ${vip}/32 dev tunl0`];
  prep.push(
    `sysctl -w net.ipv4.conf.all.arp_ignore=${o.arpIgnore}`,
    `sysctl -w net.ipv4.conf.all.arp_announce=${o.arpAnnounce}`,
  );
  if (o.mode === 'tun')
    prep.push(
      `sysctl -w net.ipv4.conf.all.rp_filter=${o.rpFilter}`,
      `sysctl -w net.ipv4.conf.tunl0.rp_filter=${o.rpFilter}`,
    );
  return {
    title: o.mode === 'dr' ? 'LVS-DR' : 'LVS-TUN',
    vip,
    net: `one LAN, 172.25.${n}.0/24`,
    switches: ['lan'],
    client: {
      name: 'client',
      role: 'client',
      ifaces: [{ name: 'eth0', mac: labMac(`172.25.${n}.250`), addrs: [`172.25.${n}.250/24`] }],
    },
    realServers: [rs('rs1', `172.25.${n}.2`), rs('rs2', `172.25.${n}.3`)],
    router: null,
    directorLinks: [{ name: 'eth0', sw: 'lan' }],
    plug: { 'client/eth0': 'lan', 'rs1/eth0': 'lan', 'rs2/eth0': 'lan' },
    prep,
  };
}

function httpResponse(name: string): Uint8Array {
  const body = `${name}\n`;
  return new TextEncoder().encode(
    `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

function httpRequest(vip: string, upload: number): Uint8Array {
  if (upload <= 0) return new TextEncoder().encode(`GET / HTTP/1.0\r\nHost: ${vip}\r\n\r\n`);
  const head = `POST / HTTP/1.0\r\nHost: ${vip}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${upload}\r\n\r\n`;
  const b = new Uint8Array(head.length + upload);
  b.set(new TextEncoder().encode(head), 0);
  b.fill(0x78, head.length);
  return b;
}

function describeHost(h: LabHost): LabHostInfo {
  const ifs = h.ifaces.map(
    (i) =>
      `${i.name} ${i.addrs.map((a) => `${IpAddr.fromWords(4, [a.addr, 0, 0, 0])}/${a.plen}`).join(', ')}`,
  );
  for (const a of h.lo) ifs.push(`lo ${IpAddr.fromWords(4, [a, 0, 0, 0])}/32`);
  for (const a of h.tunl0) ifs.push(`tunl0 ${IpAddr.fromWords(4, [a, 0, 0, 0])}/32`);
  return { name: h.name, role: h.role, interfaces: ifs };
}

/** Runs the lab; throws SetupError for a bad --setup. */
export function runLab(opts: LabOptions): LabResult {
  const o = {
    mode: opts.mode,
    requests: Math.max(1, opts.requests),
    arpIgnore: opts.arpIgnore ?? 1,
    arpAnnounce: opts.arpAnnounce ?? 2,
    rpFilter: opts.rpFilter ?? 0,
    rsGateway: opts.rsGateway ?? 'director',
    seed: opts.seed ?? 1,
    synRetries: opts.synRetries ?? 2,
  };
  const upload = opts.upload ?? (o.mode === 'tun' ? 1460 : 0);
  const topo = topology(o);
  const sim = new Sim();
  const rng = new Rng(o.seed ^ 0x1ab);
  const notes: LabNote[] = [];
  const note = (host: string, text: string): void => {
    notes.push({ t: sim.now, host, text });
  };
  const frames: WireFrame[] = [];
  const switches = new Map(topo.switches.map((n) => [n, new Switch(n, sim, frames)]));
  const setupText = opts.setupText ?? defaultDirectorSetup(o.mode);
  const dnode = new DirectorNode(setupText, opts.setupFile ?? `lab-${o.mode}.setup`, sim, rng, note, o.seed);
  const macNames = new Map<number, string>();
  const captures = new Map<string, { t: number; bytes: Uint8Array }[]>();

  const plug = (nic: Nic & { sw: Switch | null }, swName: string): void => {
    const sw = switches.get(swName);
    if (!sw) return;
    nic.sw = sw;
    sw.attach(nic);
    macNames.set(nic.mac, nic.host === 'director' ? 'director' : nic.host);
  };

  const client = new LabHost(topo.client, sim, rng, note);
  plug(client.ifaces[0], topo.plug['client/eth0']);
  topo.directorLinks.forEach((l, i) => {
    const nic = dnode.nic(l.name, i);
    if (nic) plug(nic, l.sw);
  });
  const servers = topo.realServers.map((c) => new LabHost(c, sim, rng, note));
  for (const s of servers) {
    plug(s.ifaces[0], topo.plug[`${s.name}/eth0`]);
    s.tcp.listen(80, () => httpResponse(s.name));
  }
  let router: LabHost | null = null;
  if (topo.router) {
    router = new LabHost(topo.router, sim, rng, note);
    for (const i of router.ifaces) plug(i, topo.plug[`router/${i.name}`]);
  }
  // captures: every frame each interface sent or received
  const capture = (host: string, ifname: string, t: number, bytes: Uint8Array): void => {
    const k = `${host}-${ifname}`;
    let l = captures.get(k);
    if (!l) captures.set(k, (l = []));
    l.push({ t, bytes });
  };

  const vip = IpAddr.parse(topo.vip).w0;
  const requests: LabRequest[] = [];
  const startRequest = (k: number): void => {
    const port = 40000 + k;
    const body = k === o.requests ? upload : 0;
    const req: LabRequest = {
      n: k,
      clientPort: port,
      start: sim.now,
      end: sim.now,
      ok: false,
      answeredBy: null,
      reason: '',
      upload: body,
    };
    requests.push(req);
    client.tcp.connect(vip, 80, port, httpRequest(topo.vip, body), o.synRetries, (r: ExchangeResult) => {
      req.end = sim.now;
      req.ok = r.ok;
      req.answeredBy = r.body ? r.body.trim() : null;
      req.reason = r.reason;
      if (k < o.requests) sim.after(1, () => startRequest(k + 1));
    });
  };
  sim.at(0, () => startRequest(1));
  sim.run(600_000);

  for (const f of frames) {
    capture(f.fromHost, f.fromIf, f.t, f.bytes);
    for (const r of f.to) capture(r.host, r.ifname, f.t + 0.02, f.bytes);
  }
  for (const l of captures.values()) l.sort((a, b) => a.t - b.t);

  const listing = runIpvsadmListing(['-L', '-n'], listState(dnode.director)).stdout;
  const hosts = [describeHost(client)];
  hosts.push({
    name: 'director',
    role: 'director',
    interfaces: dnode.director.host.links.map(
      (l) => `${l.name} ${l.addrs.map((a) => `${a.addr}/${a.plen}`).join(', ')}`,
    ),
  });
  for (const s of servers) hosts.push(describeHost(s));
  if (router) hosts.push(describeHost(router));
  const vipMac = client.neighbour(vip);
  return {
    vipArpOwner: vipMac === null ? null : (macNames.get(vipMac) ?? macToString(vipMac)),
    mode: o.mode,
    title: topo.title,
    network: topo.net,
    vip: topo.vip,
    hosts,
    directorSetup: setupText,
    realServerPrep: topo.prep,
    requests,
    frames,
    notes,
    listing,
    macNames,
    captures,
  };
}
