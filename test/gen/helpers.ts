/**
 * Helpers for the generator tests: run the generator on a set-up into a
 * temporary directory, read captures back as frames, check a frame's parse
 * and checksums, and group frames into flows.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, type GenOutput, type GenSummary } from '../../src/gen/generator.js';
import { DEFAULT_GEN_OPTIONS, type GenOptions } from '../../src/gen/options.js';
import { openCapture } from '../../src/capture/reader.js';
import { PacketInfo, parseFrame } from '../../src/wire/parse.js';
import { ipv4HeaderChecksumOk, l4ChecksumOk4, l4ChecksumOk6Words } from '../../src/wire/checksum.js';
import { IpAddr } from '../../src/wire/addr.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SETUPS = path.join(REPO, 'test/gen/setups');
export const LAB = path.join(REPO, 'fixtures/lab');

export function tmpDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ipvs-gen-${tag}-`));
}

export function rmDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
}

/** Options for tests: few short flows unless overridden. */
export function testOptions(o: Partial<GenOptions> = {}): GenOptions {
  return {
    ...DEFAULT_GEN_OPTIONS,
    flows: 200,
    duration: 2,
    requests: { min: 1, max: 3 },
    responseSize: { min: 100, max: 20000 },
    ...o,
  };
}

export function runGen(
  setupFile: string,
  output: GenOutput,
  o: Partial<GenOptions> = {},
  naive = false,
): { summary: GenSummary; gen: Generator } {
  const gen = new Generator({
    setupText: readFileSync(setupFile, 'utf8'),
    setupFile,
    options: testOptions(o),
    output,
    naive,
  });
  return { summary: gen.run(), gen };
}

export interface Frame {
  bytes: Uint8Array;
  origLen: number;
  /** Timestamp in µs since the epoch. */
  us: number;
  /** pcapng interface name ('' for pcap). */
  iface: string;
}

export function readFrames(file: string): Frame[] {
  const r = openCapture(file);
  const out: Frame[] = [];
  try {
    while (r.next()) {
      out.push({
        bytes: r.buf.slice(r.off, r.off + r.capLen),
        origLen: r.origLen,
        us: r.tsSec * 1e6 + Math.floor(r.tsNsec / 1000),
        iface: r.allInterfaces[r.ifaceIndex]?.name ?? '',
      });
    }
  } finally {
    r.close();
  }
  return out;
}

/** A decoded frame (fields copied out of the reused PacketInfo). */
export interface Decoded {
  af: number;
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack: number;
  /** L4 payload bytes. */
  payLen: number;
  /** Bytes after the IP packet (Ethernet padding). */
  trailer: Uint8Array;
  srcMac: number;
  dstMac: number;
  ttl: number;
}

const info = new PacketInfo();

/**
 * Parses a frame and checks what a correct frame must satisfy: parseFrame
 * finds no problem, the IPv4 header and L4 checksums verify, and frames are
 * at least 60 bytes with zero padding (`generated`; the director's own
 * output carries no padding). Throws with a description otherwise.
 */
export function decode(b: Uint8Array, generated = true): Decoded {
  const r = parseFrame(b, 0, b.length, b.length, info);
  if (r !== 0) throw new Error(`parseFrame reason ${r}`);
  if (info.l4Reason !== 0) throw new Error(`L4 reason ${info.l4Reason}`);
  if (info.af !== 4 && info.af !== 6) throw new Error('not IP');
  if (info.af === 4 && !ipv4HeaderChecksumOk(b, info.l3Off)) throw new Error('bad IPv4 header checksum');
  const ok =
    info.af === 4
      ? l4ChecksumOk4(b, info.l4Off, info.l4Len, info.saddr[0], info.daddr[0], info.proto)
      : l4ChecksumOk6Words(b, info.l4Off, info.l4Len, info.saddr, 0, info.daddr, 0, info.proto);
  if (!ok) throw new Error('bad L4 checksum');
  if (generated && b.length < 60) throw new Error(`frame of ${b.length} bytes (under the 60-byte minimum)`);
  const end = info.l3End;
  const trailer = b.slice(end);
  if (trailer.length > 0 && end + trailer.length !== 60)
    throw new Error(`padding beyond 60 bytes (${b.length})`);
  if (trailer.some((x) => x !== 0)) throw new Error('non-zero padding');
  const payOff = info.proto === 6 ? info.l4Off + info.tcpHdrLen : info.l4Off + 8;
  return {
    af: info.af,
    proto: info.proto,
    src: IpAddr.fromWords(info.af as 4 | 6, info.saddr).toString(),
    dst: IpAddr.fromWords(info.af as 4 | 6, info.daddr).toString(),
    sport: info.sport,
    dport: info.dport,
    flags: info.tcpFlags,
    seq: info.tcpSeq >>> 0,
    ack: info.tcpAck >>> 0,
    payLen: end - payOff,
    trailer,
    srcMac: readMac48(b, 6),
    dstMac: readMac48(b, 0),
    ttl: info.ttl,
  };
}

function readMac48(b: Uint8Array, o: number): number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + b[o + i];
  return v;
}

export interface Flow {
  proto: number;
  client: string;
  cport: number;
  vip: string;
  vport: number;
  /** Frames in capture order, with direction (0: client→VIP, 1: server→client). */
  frames: { d: Decoded; dir: 0 | 1; us: number; iface: string }[];
}

/** Groups decoded frames into flows keyed by (proto, client, client port), given which addresses are VIPs. */
export function flowsOf(frames: Frame[], vips: Set<string>, generated = true): Map<string, Flow> {
  const flows = new Map<string, Flow>();
  for (const f of frames) {
    const d = decode(f.bytes, generated);
    const dir: 0 | 1 = vips.has(d.dst) ? 0 : 1;
    const client = dir === 0 ? d.src : d.dst;
    const cport = dir === 0 ? d.sport : d.dport;
    const key = `${d.proto} ${client} ${cport}`;
    let fl = flows.get(key);
    if (!fl) {
      fl = {
        proto: d.proto,
        client,
        cport,
        vip: dir === 0 ? d.dst : '',
        vport: dir === 0 ? d.dport : 0,
        frames: [],
      };
      flows.set(key, fl);
    }
    if (dir === 0 && !fl.vip) {
      fl.vip = d.dst;
      fl.vport = d.dport;
    }
    fl.frames.push({ d, dir, us: f.us, iface: f.iface });
  }
  return flows;
}

export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
