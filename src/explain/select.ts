/**
 * Which input frames explain prints: `--frame N` (repeatable; `3-7` ranges
 * and `3,5,9` lists) and `--flow ADDR:PORT` (the frames of that client
 * flow in both directions, and ICMP errors quoting it). Frames not selected
 * still go through the director — its state must evolve — but print nothing.
 */
import { IpAddr } from '../wire/addr.js';
import {
  parsePacket,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  UdpRepr,
  SctpRepr,
  IcmpRepr,
  Icmpv6Repr,
} from '../wire/repr.js';
import type { FrameFilter } from './recorder.js';

export class SelectionError extends Error {}

/** An inclusive range of 1-based frame numbers. */
export interface FrameRange {
  from: number;
  to: number;
}

/** A client endpoint. */
export interface FlowSpec {
  addr: IpAddr;
  port: number;
}

/** Parses `--frame` values: `N`, `N-M`, comma-separated lists of either. */
export function parseFrameSpecs(values: readonly string[]): FrameRange[] {
  const out: FrameRange[] = [];
  for (const v of values)
    for (const part of v.split(',')) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
      if (!m) throw new SelectionError(`--frame takes N, N-M or a comma-separated list of them, got '${v}'`);
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (from < 1 || to < from)
        throw new SelectionError(
          `--frame: frames are numbered from 1 and ranges go upward, got '${part.trim()}'`,
        );
      out.push({ from, to });
    }
  return out;
}

/** Parses `--flow ADDR:PORT` (IPv6 as `[ADDR]:PORT`). */
export function parseFlowSpec(v: string): FlowSpec {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
  const addr = m ? IpAddr.tryParse(m[1]) : undefined;
  const port = m ? Number(m[2]) : -1;
  if (!m || !addr || port < 0 || port > 65535)
    throw new SelectionError(`--flow takes ADDR:PORT (IPv6: [ADDR]:PORT), got '${v}'`);
  return { addr, port };
}

/** The endpoints of the innermost transport header of an IP packet at `b` (Ethernet or bare IP), or of the packet an ICMP error quotes. */
function endpoints(b: Uint8Array, link: 'ethernet' | 'ip', depth = 0): [string, number, string, number][] {
  let parsed;
  try {
    parsed = parsePacket(b, 0, b.length, { link });
  } catch {
    return [];
  }
  let ip: Ipv4Repr | Ipv6Repr | null = null;
  const out: [string, number, string, number][] = [];
  for (const l of parsed.layers) {
    if (l instanceof Ipv4Repr || l instanceof Ipv6Repr) ip = l;
    else if (ip && (l instanceof TcpRepr || l instanceof UdpRepr || l instanceof SctpRepr))
      out.push([ip.src.toString(), l.sport, ip.dst.toString(), l.dport]);
    else if ((l instanceof IcmpRepr || l instanceof Icmpv6Repr) && depth === 0)
      out.push(...endpoints(parsed.payload, 'ip', 1));
  }
  return out;
}

/** Whether the frame belongs to the flow: from it, to it, or an ICMP error about it. */
export function frameInFlow(bytes: Uint8Array, flow: FlowSpec): boolean {
  const a = flow.addr.toString();
  return endpoints(bytes, 'ethernet').some(
    ([s, sp, d, dp]) => (s === a && sp === flow.port) || (d === a && dp === flow.port),
  );
}

/** The filter for `--frame` and `--flow` (a frame must match both kinds when both are given; any one of each kind). */
export function makeFilter(frames: readonly FrameRange[], flows: readonly FlowSpec[]): FrameFilter {
  return (n, bytes) => {
    if (frames.length && !frames.some((r) => n >= r.from && n <= r.to)) return false;
    if (flows.length && !flows.some((fl) => frameInFlow(bytes, fl))) return false;
    return true;
  };
}
