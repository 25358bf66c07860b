/**
 * Generated traffic for the robustness tests and the memory benchmark
 * (bench/suites/memory.ts), written straight with the capture writer: SYN
 * floods (every frame a new connection) and steady traffic over a fixed set
 * of flows (any file size, the same connections). Frames go to VIP4:80 of
 * setups.ts, arriving on the director's client side.
 *
 * Frames are built by patching one template per kind (addresses, ports,
 * checksums fixed incrementally), so a multi-gigabyte capture is written at
 * disk speed.
 */
import { createPcapWriter } from '../../src/capture/writer.js';
import { ipv4HeaderChecksum } from '../../src/wire/checksum.js';
import { IpAddr } from '../../src/wire/addr.js';
import { buildFrame, EthernetRepr, Ipv4Repr, TcpRepr } from '../../src/wire/repr.js';
import { wr16, wr32 } from '../../src/wire/bytes.js';
import { CLIENT_MAC, GW_MAC, VIP4 } from './setups.js';

const L3 = 14;
const L4 = 34;

/** A TCP segment to VIP4:80 from 10.0.0.2 (patched per frame), with `payload` bytes of data. */
function template(flags: number, payload: number): Uint8Array {
  return buildFrame(
    [
      new EthernetRepr({ dst: CLIENT_MAC, src: GW_MAC }),
      new Ipv4Repr({ src: IpAddr.parse('10.0.0.2'), dst: IpAddr.parse(VIP4), ttl: 64, df: true }),
      new TcpRepr({ sport: 1024, dport: 80, flags, seq: 1, ack: 0, window: 64240 }),
    ],
    new Uint8Array(payload),
  );
}

/** Client number `i` (0 .. 2^40): source address 11.x.x.x / port, so that no two clients share a tuple. */
function setClient(b: Uint8Array, i: number): void {
  const addr = (0x0b000000 + (i % 0xffffff)) >>> 0;
  const port = 1024 + (Math.floor(i / 0xffffff) % 64000);
  wr32(b, L3 + 12, addr);
  wr16(b, L3 + 10, 0);
  wr16(b, L3 + 10, ipv4HeaderChecksum(b, L3));
  wr16(b, L4, port);
}

export interface FloodOptions {
  /** Frames (= new connections). */
  frames: number;
  /** Number of the first client (default 0), so that several floods use distinct clients. */
  first?: number;
  /** New connections per simulated second. */
  perSecond: number;
}

/** Writes a SYN flood: `frames` SYNs from distinct clients to VIP4:80, `perSecond` per simulated second. */
export function writeSynFlood(path: string, o: FloodOptions): void {
  const w = createPcapWriter(path, { nanosecond: true });
  const f = template(0x02, 0);
  const stepNs = Math.max(1, Math.floor(1e9 / o.perSecond));
  const first = o.first ?? 0;
  let sec = 1_700_000_000;
  let ns = 0;
  try {
    for (let i = 0; i < o.frames; i++) {
      setClient(f, first + i);
      w.write(0, f, 0, f.length, f.length, sec, ns);
      ns += stepNs;
      if (ns >= 1e9) {
        sec += Math.floor(ns / 1e9);
        ns %= 1e9;
      }
    }
  } finally {
    w.close();
  }
}

/**
 * Feeds a SYN flood straight to a director (no file): `frames` SYNs,
 * `perSecond` per simulated second; `each` is called after every frame.
 */
export function floodDirector(
  d: {
    advance(ms: number): void;
    receive(link: number, buf: Uint8Array, off: number, capLen: number, origLen: number): void;
  },
  o: FloodOptions,
  each?: (i: number) => void,
): void {
  const tpl = template(0x02, 0);
  // the director rewrites its input in place (TTL, MACs): a fresh copy per frame
  const f = new Uint8Array(tpl.length);
  const stepMs = 1000 / o.perSecond;
  const first = o.first ?? 0;
  for (let i = 0; i < o.frames; i++) {
    f.set(tpl);
    setClient(f, first + i);
    d.advance(i * stepMs);
    d.receive(0, f, 0, f.length, f.length);
    if (each) each(i);
  }
}

export interface SteadyOptions {
  /** Stop once the file holds at least this many bytes. */
  bytes: number;
  /** Concurrent flows (connections), reused for the whole file. */
  flows: number;
  /** Frames per simulated second. */
  perSecond: number;
}

/**
 * Writes steady traffic over a fixed set of flows until the file reaches
 * `bytes`: each flow opens with a SYN, then sends ACK segments of mixed sizes
 * (60 to 1514 bytes on the wire), round robin over the flows. Returns the
 * number of frames written.
 */
export function writeSteadyTraffic(path: string, o: SteadyOptions): number {
  const w = createPcapWriter(path, { nanosecond: true });
  const syn = template(0x02, 0);
  const sizes = [0, 1460, 512, 0, 1460, 100, 1460, 0];
  const data = sizes.map((n) => template(0x10, n));
  const stepNs = Math.max(1, Math.floor(1e9 / o.perSecond));
  let sec = 1_700_000_000;
  let ns = 0;
  let frames = 0;
  try {
    for (let k = 0; w.bytesWritten < o.bytes; k++) {
      const flow = k % o.flows;
      const round = Math.floor(k / o.flows);
      const f = round === 0 ? syn : data[(round + flow) % data.length];
      setClient(f, flow);
      w.write(0, f, 0, f.length, f.length, sec, ns);
      frames++;
      ns += stepNs;
      if (ns >= 1e9) {
        sec += Math.floor(ns / 1e9);
        ns %= 1e9;
      }
    }
  } finally {
    w.close();
  }
  return frames;
}
