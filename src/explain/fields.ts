/**
 * Every header field of a frame, as text, for explain's before/after view:
 * Ethernet (and VLAN tags), ARP, IPv4/IPv6, TCP, UDP, ICMP/ICMPv6, SCTP, GRE,
 * GUE, the inner packet of a tunnel and the packet quoted in an ICMP error.
 *
 * The layer walk is wire/repr.ts's parsePacket (plain objects, allowed here:
 * explain is never on the hot path); lengths and checksums are read from the
 * bytes themselves, because a Repr records them only when they are wrong and
 * explain shows them always (old → new when a rewrite changed them).
 */
import { macToString } from '../wire/addr.js';
import { rd16 } from '../wire/bytes.js';
import { EtherType } from '../wire/ethernet.js';
import { IpProto } from '../wire/ip.js';
import {
  parsePacket,
  EthernetRepr,
  ArpRepr,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  UdpRepr,
  IcmpRepr,
  Icmpv6Repr,
  SctpRepr,
  GueRepr,
  GreRepr,
  type LayerRepr,
  type ParsedPacket,
} from '../wire/repr.js';

/** One header field: its name and its value as text. */
export interface Field {
  name: string;
  value: string;
}

/** One decoded header. `name` is the header's kind ("Ethernet", "IPv4", "TCP", "quoted IPv4", …). */
export interface Layer {
  name: string;
  fields: Field[];
}

/** What a frame carries, in a few words: addresses, ports, TCP flags (for headings and hop tables). */
export interface FrameSummary {
  /** "IPv4 TCP", "ARP", … */
  what: string;
  /** One line: `172.25.40.250:40001 → 172.25.40.100:80 TCP [SYN]`. */
  text: string;
}

const ETHER_NAMES: Record<number, string> = {
  [EtherType.IPV4]: 'IPv4',
  [EtherType.IPV6]: 'IPv6',
  [EtherType.ARP]: 'ARP',
};

const PROTO_NAMES: Record<number, string> = {
  [IpProto.ICMP]: 'ICMP',
  [IpProto.IPIP]: 'IPIP',
  [IpProto.TCP]: 'TCP',
  [IpProto.UDP]: 'UDP',
  [IpProto.IPV6]: 'IPv6',
  [IpProto.GRE]: 'GRE',
  [IpProto.ICMPV6]: 'ICMPv6',
  [IpProto.SCTP]: 'SCTP',
  [IpProto.FRAGMENT]: 'fragment',
};

const ICMP_NAMES: Record<string, string> = {
  '0': 'echo reply',
  '3': 'destination unreachable',
  '3/0': 'network unreachable',
  '3/1': 'host unreachable',
  '3/2': 'protocol unreachable',
  '3/3': 'port unreachable',
  '3/4': 'fragmentation needed',
  '4': 'source quench',
  '5': 'redirect',
  '8': 'echo request',
  '11': 'time exceeded',
  '12': 'parameter problem',
};

const ICMPV6_NAMES: Record<string, string> = {
  '1': 'destination unreachable',
  '1/3': 'address unreachable',
  '1/4': 'port unreachable',
  '2': 'packet too big',
  '3': 'time exceeded',
  '4': 'parameter problem',
  '128': 'echo request',
  '129': 'echo reply',
  '135': 'neighbour solicitation',
  '136': 'neighbour advertisement',
};

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/** TCP flags as `SYN,ACK`. */
export function tcpFlagsText(flags: number): string {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];
  const on: string[] = [];
  for (let i = 0; i < names.length; i++) if (flags & (1 << i)) on.push(names[i]);
  return on.length ? on.join(',') : 'none';
}

function protoText(p: number): string {
  const n = PROTO_NAMES[p];
  return n ? `${p} (${n})` : String(p);
}

function icmpTypeText(table: Record<string, string>, type: number, code: number): string {
  return table[`${type}/${code}`] ?? table[String(type)] ?? 'other';
}

function f(name: string, value: string | number): Field {
  return { name, value: String(value) };
}

/** Options for decodeFrame. */
export interface DecodeOptions {
  /** UDP destination ports that carry GUE (the tunnel ports of GUE real servers). */
  guePorts?: readonly number[];
}

/**
 * parsePacket, decoding GUE when the (outer) UDP destination port is one of
 * `guePorts` (parsePacket takes one port: the frame's own is found first).
 */
function parse(b: Uint8Array, link: 'ethernet' | 'ip', guePorts: readonly number[]): ParsedPacket {
  const plain = parsePacket(b, 0, b.length, { link });
  if (guePorts.length === 0) return plain;
  const udp = plain.layers.find((l): l is UdpRepr => l instanceof UdpRepr);
  if (!udp || !guePorts.includes(udp.dport)) return plain;
  try {
    return parsePacket(b, 0, b.length, { link, guePort: udp.dport });
  } catch {
    return plain;
  }
}

/**
 * Decodes a frame into its headers. A frame that cannot be parsed all the way
 * yields the headers decoded before the failure and a last pseudo-layer
 * "undecoded" saying why.
 */
export function decodeFrame(b: Uint8Array, opts: DecodeOptions = {}): Layer[] {
  return decodeBytes(b, 'ethernet', '', opts.guePorts ?? []);
}

function decodeBytes(
  b: Uint8Array,
  link: 'ethernet' | 'ip',
  prefix: string,
  guePorts: readonly number[],
): Layer[] {
  let parsed;
  try {
    parsed = parse(b, link, guePorts);
  } catch (e) {
    return [{ name: `${prefix}undecoded`, fields: [f('reason', (e as Error).message)] }];
  }
  const out: Layer[] = [];
  let off = 0;
  let ip: Ipv4Repr | Ipv6Repr | null = null;
  for (const l of parsed.layers) {
    out.push(layerFields(l, b, off, prefix, ip));
    if (l instanceof Ipv4Repr || l instanceof Ipv6Repr) ip = l;
    off += l instanceof SctpRepr ? 12 : l.headerLen();
  }
  const payload = parsed.payload;
  const last = parsed.layers[parsed.layers.length - 1];
  if ((last instanceof IcmpRepr || last instanceof Icmpv6Repr) && payload.length >= 20 && isErrorType(last)) {
    // the quoted packet of an ICMP error, as far as it goes
    out.push(...decodeBytes(payload, 'ip', 'quoted ', []));
  } else if (payload.length > 0 || parsed.layers.some((x) => x instanceof TcpRepr || x instanceof UdpRepr)) {
    out.push({ name: `${prefix}payload`, fields: [f('length', payload.length)] });
  }
  if (prefix === '' && parsed.trailer.length > 0)
    out.push({ name: 'trailer', fields: [f('length', parsed.trailer.length)] });
  return out;
}

function isErrorType(l: IcmpRepr | Icmpv6Repr): boolean {
  if (l instanceof IcmpRepr)
    return l.type === 3 || l.type === 4 || l.type === 5 || l.type === 11 || l.type === 12;
  return l.type >= 1 && l.type <= 4;
}

function layerFields(
  l: LayerRepr,
  b: Uint8Array,
  off: number,
  prefix: string,
  ip: Ipv4Repr | Ipv6Repr | null,
): Layer {
  if (l instanceof EthernetRepr) {
    const fields = [f('dst', macToString(l.dst)), f('src', macToString(l.src))];
    for (const v of l.vlans) fields.push(f('vlan', `${hex(v.tpid, 4)} vid ${v.vid} pcp ${v.pcp}`));
    const t = l.etherType ?? 0;
    fields.push(f('type', ETHER_NAMES[t] ? `${hex(t, 4)} (${ETHER_NAMES[t]})` : hex(t, 4)));
    return { name: `${prefix}Ethernet`, fields };
  }
  if (l instanceof ArpRepr) {
    return {
      name: `${prefix}ARP`,
      fields: [
        f('op', l.op === 1 ? '1 (request)' : l.op === 2 ? '2 (reply)' : l.op),
        f('sender MAC', macToString(l.sha)),
        f('sender IP', l.spa.toString()),
        f('target MAC', macToString(l.tha)),
        f('target IP', l.tpa.toString()),
      ],
    };
  }
  if (l instanceof Ipv4Repr) {
    const flags = [l.rf ? 'RF' : '', l.df ? 'DF' : '', l.mf ? 'MF' : ''].filter(Boolean).join(',') || 'none';
    const fields = [
      f('header length', (b[off] & 15) * 4),
      f('tos', hex(l.tos, 2)),
      f('total length', rd16(b, off + 2)),
      f('id', hex(l.id, 4)),
      f('flags', flags),
      f('fragment offset', l.fragOffset),
      f('ttl', l.ttl),
      f('protocol', protoText(l.proto ?? 0)),
      f('checksum', hex(rd16(b, off + 10), 4)),
      f('src', l.src.toString()),
      f('dst', l.dst.toString()),
    ];
    if (l.options.length) fields.push(f('options', `${l.options.length} bytes`));
    return { name: `${prefix}IPv4`, fields };
  }
  if (l instanceof Ipv6Repr) {
    const fields = [
      f('traffic class', hex(l.trafficClass, 2)),
      f('flow label', hex(l.flowLabel, 5)),
      f('payload length', rd16(b, off + 4)),
      f('next header', protoText(b[off + 6])),
      f('hop limit', l.hopLimit),
      f('src', l.src.toString()),
      f('dst', l.dst.toString()),
    ];
    for (const e of l.extHeaders) {
      if (e.type === IpProto.FRAGMENT)
        fields.push(f('fragment', `offset ${e.fragOffset}${e.mf ? ' MF' : ''} id ${hex(e.ident, 8)}`));
      else fields.push(f('extension header', protoText(e.type)));
    }
    return { name: `${prefix}IPv6`, fields };
  }
  if (l instanceof TcpRepr) {
    const fields = [
      f('src port', l.sport),
      f('dst port', l.dport),
      f('seq', l.seq >>> 0),
      f('ack', l.ack >>> 0),
      f('flags', tcpFlagsText(l.flags)),
      f('window', l.window),
    ];
    if (off + 18 <= b.length) fields.push(f('checksum', hex(rd16(b, off + 16), 4)));
    if (l.urgent) fields.push(f('urgent', l.urgent));
    if (l.options.length) fields.push(f('options', `${l.options.length} bytes`));
    return { name: `${prefix}TCP`, fields };
  }
  if (l instanceof UdpRepr) {
    const c = rd16(b, off + 6);
    return {
      name: `${prefix}UDP`,
      fields: [
        f('src port', l.sport),
        f('dst port', l.dport),
        f('length', rd16(b, off + 4)),
        f('checksum', c === 0 && ip instanceof Ipv4Repr ? '0x0000 (none)' : hex(c, 4)),
      ],
    };
  }
  if (l instanceof IcmpRepr || l instanceof Icmpv6Repr) {
    const v6 = l instanceof Icmpv6Repr;
    const table = v6 ? ICMPV6_NAMES : ICMP_NAMES;
    const fields = [
      f('type', `${l.type} (${icmpTypeText(table, l.type, l.code)})`),
      f('code', l.code),
      f('checksum', hex(rd16(b, off + 2), 4)),
    ];
    if (!v6 && l.type === 3 && l.code === 4) fields.push(f('next-hop MTU', l.rest & 0xffff));
    else if (v6 && l.type === 2) fields.push(f('MTU', l.rest >>> 0));
    else if ((!v6 && (l.type === 0 || l.type === 8)) || (v6 && (l.type === 128 || l.type === 129)))
      fields.push(f('id', l.rest >>> 16), f('seq', l.rest & 0xffff));
    else fields.push(f('rest of header', hex(l.rest >>> 0, 8)));
    return { name: `${prefix}${v6 ? 'ICMPv6' : 'ICMP'}`, fields };
  }
  if (l instanceof SctpRepr) {
    const crc = (b[off + 8] | (b[off + 9] << 8) | (b[off + 10] << 16) | (b[off + 11] << 24)) >>> 0;
    return {
      name: `${prefix}SCTP`,
      fields: [
        f('src port', l.sport),
        f('dst port', l.dport),
        f('verification tag', hex(l.vtag >>> 0, 8)),
        f('checksum (CRC32c)', hex(crc, 8)),
        f('first chunk', l.chunks.length ? l.chunks[0] : 'none'),
      ],
    };
  }
  if (l instanceof GueRepr) {
    return {
      name: `${prefix}GUE`,
      fields: [
        f('version', l.version),
        f('protocol', protoText(l.proto ?? b[off + 1])),
        f('flags', hex(l.flags, 4)),
      ],
    };
  }
  if (l instanceof GreRepr) {
    const flags = rd16(b, off);
    const fields = [f('flags', hex(flags, 4)), f('protocol', hex(rd16(b, off + 2), 4))];
    if (flags & 0x8000) fields.push(f('checksum', hex(rd16(b, off + 4), 4)));
    return { name: `${prefix}GRE`, fields };
  }
  return { name: `${prefix}unknown`, fields: [] };
}

/**
 * A one-line description of a frame: addresses and ports of the innermost
 * packet (and the outer addresses of a tunnel), protocol and TCP flags.
 */
export function summarizeFrame(b: Uint8Array, opts: DecodeOptions = {}): FrameSummary {
  let parsed;
  try {
    parsed = parse(b, 'ethernet', opts.guePorts ?? []);
  } catch (e) {
    return { what: 'malformed', text: `malformed frame (${(e as Error).message})` };
  }
  const ls = parsed.layers;
  const arp = ls.find((l): l is ArpRepr => l instanceof ArpRepr);
  if (arp) {
    const text =
      arp.op === 1
        ? `ARP who has ${arp.tpa}? tell ${arp.spa}`
        : arp.op === 2
          ? `ARP ${arp.spa} is at ${macToString(arp.sha)}`
          : `ARP op ${arp.op}`;
    return { what: 'ARP', text };
  }
  const ips = ls.filter((l): l is Ipv4Repr | Ipv6Repr => l instanceof Ipv4Repr || l instanceof Ipv6Repr);
  if (ips.length === 0) {
    const eth = ls[0] as EthernetRepr;
    return { what: 'other', text: `EtherType ${hex(eth.etherType ?? 0, 4)}` };
  }
  const inner = ips[ips.length - 1];
  const outer = ips.length > 1 ? ips[0] : null;
  const l4 = ls[ls.length - 1];
  const fam = inner.af === 6 ? 'IPv6' : 'IPv4';
  const ep = (a: string, port: number | null): string =>
    port === null ? a : inner.af === 6 ? `[${a}]:${port}` : `${a}:${port}`;
  let text: string;
  let what: string;
  if (l4 instanceof TcpRepr || l4 instanceof UdpRepr || l4 instanceof SctpRepr) {
    const name = l4 instanceof TcpRepr ? 'TCP' : l4 instanceof UdpRepr ? 'UDP' : 'SCTP';
    what = `${fam} ${name}`;
    text = `${ep(inner.src.toString(), l4.sport)} → ${ep(inner.dst.toString(), l4.dport)} ${name}`;
    if (l4 instanceof TcpRepr) {
      text += ` [${tcpFlagsText(l4.flags)}]`;
      if (parsed.payload.length) text += ` ${parsed.payload.length} bytes`;
    }
  } else if (l4 instanceof IcmpRepr || l4 instanceof Icmpv6Repr) {
    const v6 = l4 instanceof Icmpv6Repr;
    what = `${fam} ${v6 ? 'ICMPv6' : 'ICMP'}`;
    text = `${inner.src} → ${inner.dst} ${v6 ? 'ICMPv6' : 'ICMP'} ${icmpTypeText(v6 ? ICMPV6_NAMES : ICMP_NAMES, l4.type, l4.code)}`;
    if (!v6 && l4.type === 3 && l4.code === 4) text += ` (MTU ${l4.rest & 0xffff})`;
    if (v6 && l4.type === 2) text += ` (MTU ${l4.rest >>> 0})`;
  } else {
    const p = inner instanceof Ipv4Repr ? (inner.proto ?? 0) : (inner.nextHeader ?? 0);
    what = fam;
    text = `${inner.src} → ${inner.dst} ${PROTO_NAMES[p] ?? `protocol ${p}`}`;
    if (inner instanceof Ipv4Repr && inner.fragOffset) text += ` fragment at ${inner.fragOffset}`;
  }
  if (outer) {
    const tun = ls.find((l) => l instanceof GueRepr)
      ? 'GUE'
      : ls.find((l) => l instanceof GreRepr)
        ? 'GRE'
        : outer.af === 4 && inner.af === 4
          ? 'IPIP'
          : `${fam}-in-${outer.af === 6 ? 'IPv6' : 'IPv4'}`;
    text = `[${tun} ${outer.src} → ${outer.dst}] ${text}`;
  }
  return { what, text };
}

/**
 * What ties a frame the director sent to the input packet it was made from:
 * the innermost (unquoted) IP packet's protocol and IPv4 ID (IPv6: flow
 * label, payload length and traffic class), and its TTL / hop limit, which a
 * forwarded packet has one lower than the packet that arrived.
 */
export interface PacketIdentity {
  key: string;
  ttl: number;
}

export function packetIdentity(b: Uint8Array, opts: DecodeOptions = {}): PacketIdentity | null {
  let parsed;
  try {
    parsed = parse(b, 'ethernet', opts.guePorts ?? []);
  } catch {
    return null;
  }
  let off = 0;
  let id: PacketIdentity | null = null;
  for (const l of parsed.layers) {
    if (l instanceof Ipv4Repr) id = { key: `4/${b[off + 9]}/${l.id}`, ttl: l.ttl };
    else if (l instanceof Ipv6Repr)
      id = { key: `6/${l.flowLabel}/${rd16(b, off + 4)}/${l.trafficClass}`, ttl: l.hopLimit };
    off += l instanceof SctpRepr ? 12 : l.headerLen();
  }
  return id;
}
