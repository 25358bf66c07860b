/**
 * The lab's report: the hosts and their preparation, then per request the
 * hop table the LVS guides draw by hand — each frame's sender and receiver,
 * source and destination MAC, IP and port, request or reply leg — with the
 * hosts' notes (who answers ARP and why, what a real server drops) in time
 * order, and which real server answered. Also as JSON (--json) and as
 * captures, one per interface (--pcap-dir).
 */
import path from 'node:path';
import { macToString, readMac } from '../../wire/addr.js';
import { createPcapWriter } from '../../capture/writer.js';
import { parsePacket, ArpRepr, Ipv4Repr, TcpRepr, UdpRepr, IcmpRepr } from '../../wire/repr.js';
import { tcpFlagsText } from '../fields.js';
import type { LabResult } from './lab.js';

/** One row of the hop table. */
export interface HopRow {
  /** ms since the start. */
  t: number;
  /** The request (1, 2, …) whose exchange it belongs to. */
  request: number;
  from: string;
  /** The receiver (owner of the destination MAC), `all` for a broadcast. */
  to: string;
  srcMac: string;
  dstMac: string;
  /** Source and destination `IP:port` (the outer header of a tunnelled packet), `-` for ARP. */
  src: string;
  dst: string;
  /** request (toward the service), reply (from it), arp, icmp, other. */
  leg: string;
  what: string;
}

/** Seconds of the capture timestamps' epoch (2024-01-01) so captures open with plausible dates. */
const EPOCH_S = 1704067200;

function ep(a: string, port: number | null): string {
  return port === null ? a : `${a}:${port}`;
}

/** The rows of the hop table, in time order. */
export function hopRows(r: LabResult): HopRow[] {
  const rows: HopRow[] = [];
  const reqOf = (t: number): number => {
    let n = 1;
    for (const q of r.requests) if (t >= q.start) n = q.n;
    return n;
  };
  for (const f of r.frames) {
    const dstMac = readMac(f.bytes, 0);
    const srcMacN = readMac(f.bytes, 6);
    const row: HopRow = {
      t: f.t,
      request: reqOf(f.t),
      from: f.fromHost,
      to: dstMac === 0xffffffffffff ? 'all' : (r.macNames.get(dstMac) ?? '?'),
      srcMac: macToString(srcMacN),
      dstMac: macToString(dstMac),
      src: '-',
      dst: '-',
      leg: 'other',
      what: '',
    };
    let p;
    try {
      p = parsePacket(f.bytes);
    } catch {
      row.what = 'undecodable frame';
      rows.push(row);
      continue;
    }
    const arp = p.layers.find((l): l is ArpRepr => l instanceof ArpRepr);
    if (arp) {
      row.leg = 'arp';
      row.what =
        arp.op === 1
          ? `ARP request: who has ${arp.tpa}? tell ${arp.spa}`
          : `ARP reply: ${arp.spa} is at ${macToString(arp.sha)}`;
      rows.push(row);
      continue;
    }
    const ips = p.layers.filter((l): l is Ipv4Repr => l instanceof Ipv4Repr);
    const l4 = p.layers.find((l) => l instanceof TcpRepr || l instanceof UdpRepr || l instanceof IcmpRepr);
    const outer = ips[0];
    const inner = ips[ips.length - 1];
    if (!outer) {
      row.what = 'not IPv4';
      rows.push(row);
      continue;
    }
    const tcpText = (t: TcpRepr): string =>
      `TCP ${tcpFlagsText(t.flags)}${p.payload.length ? ` ${p.payload.length} bytes` : ''}`;
    if (l4 instanceof TcpRepr || l4 instanceof UdpRepr) {
      row.leg = l4.dport === 80 || l4.dport === 443 ? 'request' : 'reply';
      if (ips.length > 1) {
        row.src = outer.src.toString();
        row.dst = outer.dst.toString();
        row.what = `IPIP, inner ${ep(inner.src.toString(), l4.sport)} → ${ep(inner.dst.toString(), l4.dport)} ${l4 instanceof TcpRepr ? tcpText(l4) : 'UDP'}`;
      } else {
        row.src = ep(outer.src.toString(), l4.sport);
        row.dst = ep(outer.dst.toString(), l4.dport);
        row.what = l4 instanceof TcpRepr ? tcpText(l4) : 'UDP';
      }
      row.what += ` (${f.bytes.length - 14} bytes IP)`;
    } else if (l4 instanceof IcmpRepr) {
      row.leg = 'icmp';
      row.src = outer.src.toString();
      row.dst = outer.dst.toString();
      row.what =
        l4.type === 3 && l4.code === 4
          ? `ICMP fragmentation needed, MTU ${l4.rest & 0xffff}`
          : `ICMP type ${l4.type} code ${l4.code}`;
    } else {
      row.src = outer.src.toString();
      row.dst = outer.dst.toString();
      row.what = `IP protocol ${outer.proto}`;
    }
    rows.push(row);
  }
  return rows;
}

function pad(s: string, n: number): string {
  return s.padEnd(n);
}

/** The report as text. */
export function labText(r: LabResult): string {
  const out: string[] = [];
  out.push(`${r.title} lab: ${r.network}, VIP ${r.vip}`);
  for (const h of r.hosts) out.push(`  ${pad(h.name, 9)} ${h.role.padEnd(12)} ${h.interfaces.join('; ')}`);
  out.push('', 'director set-up:');
  for (const l of r.directorSetup.split('\n')) if (l.trim()) out.push(`  ${l}`);
  out.push('', 'real servers:');
  for (const l of r.realServerPrep) out.push(`  ${l}`);
  const rows = hopRows(r);
  for (const q of r.requests) {
    out.push('');
    const what = q.upload ? `POST ${q.upload} bytes to` : 'GET';
    const result = q.ok ? `answered by ${q.answeredBy}` : `no answer: ${q.reason}`;
    out.push(`request ${q.n}: ${what} http://${r.vip}/ from client port ${q.clientPort}: ${result}`);
    out.push(
      `  ${pad('t (ms)', 8)} ${pad('hop', 20)} ${pad('leg', 8)} ${pad('src MAC', 17)} ${pad('dst MAC', 17)} ${pad('src IP:port', 21)} ${pad('dst IP:port', 21)} what`,
    );
    const mine = rows.filter((x) => x.request === q.n);
    const notes = r.notes.filter((x) => {
      let n = 1;
      for (const qq of r.requests) if (x.t >= qq.start) n = qq.n;
      return n === q.n;
    });
    let i = 0;
    let j = 0;
    while (i < mine.length || j < notes.length) {
      if (j >= notes.length || (i < mine.length && mine[i].t < notes[j].t)) {
        const x = mine[i++];
        out.push(
          `  ${pad(x.t.toFixed(3), 8)} ${pad(`${x.from} → ${x.to}`, 20)} ${pad(x.leg, 8)} ${pad(x.srcMac, 17)} ${pad(x.dstMac, 17)} ${pad(x.src, 21)} ${pad(x.dst, 21)} ${x.what}`,
        );
      } else {
        const n = notes[j++];
        out.push(`  ${pad('', 8)} · ${n.host} ${n.text}`);
      }
    }
  }
  out.push('', `answers: ${r.requests.map((q) => q.answeredBy ?? '-').join(', ')}`);
  if (r.vipArpOwner && r.vipArpOwner !== 'director')
    out.push(
      `the client's ARP entry for ${r.vip} points to ${r.vipArpOwner}, not to the director: its requests go straight to ${r.vipArpOwner}, the director never sees them`,
    );
  out.push('', 'ipvsadm -Ln on the director afterwards:');
  for (const l of r.listing.split('\n')) if (l) out.push(`  ${l}`);
  return out.join('\n') + '\n';
}

/** The report as one JSON object (docs/explain.md). */
export function labJson(r: LabResult): object {
  return {
    mode: r.mode,
    title: r.title,
    network: r.network,
    vip: r.vip,
    hosts: r.hosts,
    directorSetup: r.directorSetup,
    realServerPrep: r.realServerPrep,
    requests: r.requests,
    hops: hopRows(r),
    notes: r.notes,
    listing: r.listing,
    vipArpOwner: r.vipArpOwner,
  };
}

/** Writes DIR/HOST-IFACE.pcap for every interface; returns the files. */
export function writeLabCaptures(r: LabResult, dir: string): string[] {
  const files: string[] = [];
  for (const [name, frames] of [...r.captures.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const file = path.join(dir, `${name}.pcap`);
    const w = createPcapWriter(file, { nanosecond: true });
    for (const f of frames) {
      const ns = Math.round(f.t * 1e6);
      w.write(0, f.bytes, 0, f.bytes.length, f.bytes.length, EPOCH_S + Math.floor(ns / 1e9), ns % 1e9);
    }
    w.close();
    files.push(file);
  }
  return files;
}
