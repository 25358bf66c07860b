/**
 * Frame-by-frame comparison of ipvs-sim's output with the oracle's golden
 * captures: a TypeScript port of the harness's tools/compare.py (same masks
 * of the fields the kernel fills at random, same field names in the report).
 *
 * Masked unless `strict`: the IPv4 ID (and header checksum) of DF-clear
 * packets the director originates (ICMP, and the outer header of IPIP / GRE /
 * GUE), the IPv6 flow label (with the low traffic-class bits of byte 15) of
 * the director's own ICMPv6 packets and TCP RSTs, and the outer UDP source
 * port (and so the UDP checksum) of GUE packets. Two more random fields the
 * harness's compare.py does not mask were found when the extra scenarios were
 * recorded twice (test/oracle/README.md): the outer IPv4 ID of IPv6-in-IPv4
 * tunnel packets (protocol 41, DF clear) and the identification of an IPv6
 * fragment header the director writes when it fragments again; and the GUE
 * UDP source port (and checksum) in the first fragment of a GUE packet over
 * IPv6 that the director fragments (tun-pmtu-disc, pmtu_disc=0).
 */
import { readFileSync } from 'node:fs';

export interface PcapFrame {
  sec: number;
  usec: number;
  data: Uint8Array;
}

/** Reads a classic pcap (either byte order, µs or ns; ns is reported as µs as compare.py does). */
export function readPcap(file: string): PcapFrame[] {
  const d = readFileSync(file);
  const magicLe = d.readUInt32LE(0);
  let le: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) le = true;
  else if (magicLe === 0xd4c3b2a1 || magicLe === 0x4d3cb2a1) le = false;
  else throw new Error(`${file}: not a pcap file`);
  const nsec = magicLe === 0xa1b23c4d || magicLe === 0x4d3cb2a1;
  const u32 = (o: number): number => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  const frames: PcapFrame[] = [];
  let off = 24;
  while (off + 16 <= d.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    off += 16;
    frames.push({
      sec,
      usec: nsec ? Math.floor(frac / 1000) : frac,
      data: new Uint8Array(d.subarray(off, off + incl)),
    });
    off += incl;
  }
  return frames;
}

function fieldNames4(f: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  for (let i = 0; i < 6; i++) {
    names.set(i, 'eth.dst');
    names.set(6 + i, 'eth.src');
  }
  names.set(12, 'eth.type');
  names.set(13, 'eth.type');
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return names;
  const ipv4 = (base: number, prefix: string): void => {
    const ihl = (f[base] & 15) * 4;
    const fields: [number, string, number][] = [
      [0, 'ver_ihl', 1],
      [1, 'tos', 1],
      [2, 'len', 2],
      [4, 'id', 2],
      [6, 'flags_frag', 2],
      [8, 'ttl', 1],
      [9, 'proto', 1],
      [10, 'csum', 2],
      [12, 'src', 4],
      [16, 'dst', 4],
    ];
    for (const [o, n, c] of fields) for (let k = 0; k < c; k++) names.set(base + o + k, `${prefix}.${n}`);
    for (let k = 20; k < ihl; k++) names.set(base + k, `${prefix}.options`);
    const proto = f[base + 9];
    const l4 = base + ihl;
    const frag = ((f[base + 6] << 8) | f[base + 7]) & 0x1fff;
    if (frag) return;
    if (proto === 4 && f.length >= l4 + 20) ipv4(l4, 'inner_ip');
    else if (proto === 6) {
      const t: [number, string, number][] = [
        [0, 'sport', 2],
        [2, 'dport', 2],
        [4, 'seq', 4],
        [8, 'ack', 4],
        [12, 'off_flags', 2],
        [14, 'win', 2],
        [16, 'csum', 2],
        [18, 'urg', 2],
      ];
      for (const [o, n, c] of t) for (let k = 0; k < c; k++) names.set(l4 + o + k, `${prefix}.tcp.${n}`);
    } else if (proto === 17) {
      for (const [o, n] of [
        [0, 'sport'],
        [2, 'dport'],
        [4, 'len'],
        [6, 'csum'],
      ] as [number, string][]) {
        names.set(l4 + o, `${prefix}.udp.${n}`);
        names.set(l4 + o + 1, `${prefix}.udp.${n}`);
      }
    } else if (proto === 1) {
      names.set(l4, `${prefix}.icmp.type`);
      names.set(l4 + 1, `${prefix}.icmp.code`);
      names.set(l4 + 2, `${prefix}.icmp.csum`);
      names.set(l4 + 3, `${prefix}.icmp.csum`);
      for (let k = 4; k < 8; k++) names.set(l4 + k, `${prefix}.icmp.rest`);
      if (f.length >= l4 + 28 && [3, 4, 5, 11, 12].includes(f[l4])) ipv4(l4 + 8, `${prefix}.icmp.quoted_ip`);
    }
  };
  ipv4(14, 'ip');
  return names;
}

function fieldNames6(f: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  for (let i = 0; i < 6; i++) {
    names.set(i, 'eth.dst');
    names.set(6 + i, 'eth.src');
  }
  names.set(12, 'eth.type');
  names.set(13, 'eth.type');
  const b = 14;
  names.set(b, 'ip6.ver_tc');
  names.set(b + 1, 'ip6.tc_flowlabel');
  names.set(b + 2, 'ip6.flowlabel');
  names.set(b + 3, 'ip6.flowlabel');
  names.set(b + 4, 'ip6.plen');
  names.set(b + 5, 'ip6.plen');
  names.set(b + 6, 'ip6.nh');
  names.set(b + 7, 'ip6.hlim');
  for (let k = 0; k < 16; k++) {
    names.set(b + 8 + k, 'ip6.src');
    names.set(b + 24 + k, 'ip6.dst');
  }
  const nh = f[b + 6];
  const l4 = b + 40;
  if (nh === 6) {
    const t: [number, string, number][] = [
      [0, 'sport', 2],
      [2, 'dport', 2],
      [4, 'seq', 4],
      [8, 'ack', 4],
      [12, 'off_flags', 2],
      [14, 'win', 2],
      [16, 'csum', 2],
      [18, 'urg', 2],
    ];
    for (const [o, n, c] of t) for (let k = 0; k < c; k++) names.set(l4 + o + k, `ip6.tcp.${n}`);
  } else if (nh === 17) {
    for (const [o, n] of [
      [0, 'sport'],
      [2, 'dport'],
      [4, 'len'],
      [6, 'csum'],
    ] as [number, string][]) {
      names.set(l4 + o, `ip6.udp.${n}`);
      names.set(l4 + o + 1, `ip6.udp.${n}`);
    }
  } else if (nh === 58) {
    names.set(l4, 'icmp6.type');
    names.set(l4 + 1, 'icmp6.code');
    names.set(l4 + 2, 'icmp6.csum');
    names.set(l4 + 3, 'icmp6.csum');
  }
  return names;
}

/** Offset of the UDP header when the packet whose transport starts at l3 is a GUE encapsulation. */
function gueUdp(f: Uint8Array, l3: number): number | null {
  if (f.length < l3 + 8 + 4 + 1) return null;
  const g = l3 + 8;
  const verHlen = f[g];
  const proto = f[g + 1];
  if (verHlen >> 6 !== 0 || (proto !== 4 && proto !== 41)) return null;
  const inner = g + 4 + (verHlen & 0x1f) * 4;
  if (f.length <= inner || f[inner] >> 4 !== (proto === 4 ? 4 : 6)) return null;
  return l3;
}

/** Byte offsets the kernel fills at random in frame `f` (see the file comment). */
export function randomOffsets(f: Uint8Array): Set<number> {
  const out = new Set<number>();
  if (f.length >= 54 && f[12] === 0x86 && f[13] === 0xdd) {
    const nh = f[20];
    if (nh === 58 || (nh === 6 && f.length >= 68 && f[67] & 0x04)) [15, 16, 17].forEach((x) => out.add(x));
    if (nh === 17 && gueUdp(f, 54) !== null) [54, 55, 60, 61].forEach((x) => out.add(x));
    if (nh === 44 && f.length >= 62) [58, 59, 60, 61].forEach((x) => out.add(x));
    // the first fragment of a GUE packet the director fragmented: its UDP source port and checksum
    if (nh === 44 && f[54] === 17 && ((f[56] << 8) | f[57]) >> 3 === 0 && gueUdp(f, 62) !== null)
      [62, 63, 68, 69].forEach((x) => out.add(x));
    return out;
  }
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return out;
  const flags = f[20];
  const proto = f[23];
  const l3 = 14 + (f[14] & 15) * 4;
  const gue = proto === 17 && gueUdp(f, l3) !== null;
  if (gue) [l3, l3 + 1, l3 + 6, l3 + 7].forEach((x) => out.add(x));
  if (flags & 0x40) return out;
  if (proto === 1 || proto === 4 || proto === 41 || proto === 47 || gue)
    [18, 19, 24, 25].forEach((x) => out.add(x));
  return out;
}

/** Differences between two lists of frames, in compare.py's words; empty when equivalent. */
export function compareFrames(exp: PcapFrame[], act: PcapFrame[], strict = false): string[] {
  const problems: string[] = [];
  if (exp.length !== act.length) problems.push(`frame count ${exp.length} != ${act.length}`);
  const n = Math.min(exp.length, act.length);
  for (let i = 0; i < n; i++) {
    const e = exp[i];
    const a = act[i];
    if (e.sec !== a.sec || e.usec !== a.usec)
      problems.push(
        `frame ${i}: timestamp ${e.sec}.${e.usec} != ${a.sec}.${a.usec} (different input attribution)`,
      );
    const be = e.data;
    const ba = a.data;
    if (be.length !== ba.length) {
      problems.push(`frame ${i}: length ${be.length} != ${ba.length}`);
      continue;
    }
    let diff: number[] = [];
    for (let k = 0; k < be.length; k++) if (be[k] !== ba[k]) diff.push(k);
    if (diff.length && !strict) {
      const re = randomOffsets(be);
      const ra = randomOffsets(ba);
      diff = diff.filter((k) => !(re.has(k) && ra.has(k)));
    }
    if (diff.length) {
      const names = be[12] === 0x86 && be[13] === 0xdd ? fieldNames6(be) : fieldNames4(be);
      const fields = [...new Set(diff.map((k) => names.get(k) ?? `payload@${k}`))].sort();
      problems.push(`frame ${i}: differs in ${fields.join(', ')}`);
    }
  }
  return problems;
}

/** `ipvsadm -Lnc` lines without the expire column, sorted (the kernel's hash order is random). */
export function connsLines(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const out: string[] = [];
  for (const line of lines.slice(2)) {
    const t = line.trim().split(/\s+/);
    if (t.length >= 6) out.push([t[0], ...t.slice(2)].join(' '));
    else if (t.length && t[0]) out.push(t.join(' '));
  }
  return out.sort();
}

/**
 * The harness's pktio leaves out of its captures the IPv6 multicast control
 * messages a director's stack sends on its own (MLD, router solicitations,
 * neighbour solicitations / advertisements to a 33:33 group: ICMPv6 types
 * 130-133, 135, 136, 143) and does not count them in the "+ k µs" of its
 * timestamps. `dropIgnored` does the same to a simulator's outputs: every
 * frame is stamped input timestamp + k µs, `inputs` are the input
 * timestamps (µs); the k of the frames after a dropped one shrinks.
 */
export function isIgnoredByHarness(f: Uint8Array): boolean {
  if (f.length < 14 + 40 + 1 || f[0] !== 0x33 || f[1] !== 0x33 || f[12] !== 0x86 || f[13] !== 0xdd)
    return false;
  if (f[20] !== 58) return false;
  const t = f[54];
  return (t >= 130 && t <= 133) || t === 135 || t === 136 || t === 143;
}

export function dropIgnored(outputs: Map<string, PcapFrame[]>, inputs: number[]): void {
  const bases = [...new Set(inputs)].sort((a, b) => a - b);
  const baseOf = (us: number): number => {
    let lo = 0;
    let hi = bases.length - 1;
    let best = 0;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (bases[m] < us) {
        best = bases[m];
        lo = m + 1;
      } else hi = m - 1;
    }
    return best;
  };
  const all: { us: number; iface: string; f: PcapFrame; drop: boolean }[] = [];
  for (const [iface, frames] of outputs)
    for (const f of frames)
      all.push({ us: f.sec * 1e6 + f.usec, iface, f, drop: isIgnoredByHarness(f.data) });
  all.sort((a, b) => a.us - b.us);
  const dropped = new Map<number, number>();
  for (const x of all) {
    const base = baseOf(x.us);
    const n = dropped.get(base) ?? 0;
    if (x.drop) {
      dropped.set(base, n + 1);
      continue;
    }
    if (n > 0) {
      const us = x.us - n;
      x.f.sec = Math.floor(us / 1e6);
      x.f.usec = us % 1e6;
    }
  }
  for (const [iface, frames] of outputs) {
    const keep = frames.filter((f) => !isIgnoredByHarness(f.data));
    frames.length = 0;
    frames.push(...keep);
    void iface;
  }
}
