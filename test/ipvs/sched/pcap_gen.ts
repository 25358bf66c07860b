/**
 * Test support: build Ethernet/IPv4/TCP frames with correct checksums and
 * write them as a classic pcap file (microsecond timestamps). Used to make
 * the extra oracle scenarios in test/ipvs/sched/scenarios/.
 */
import { writeFileSync } from 'node:fs';
import { IpAddr } from '../../../src/wire/addr.js';

export interface TcpSpec {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP flag byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags: number;
  seq: number;
  ack: number;
  ttl?: number;
  payload?: Uint8Array;
}

function macBytes(text: string): number[] {
  return text.split(':').map((h) => parseInt(h, 16));
}

function csum(b: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** One Ethernet + IPv4 (DF, ID 1) + TCP (window 64240, no options) frame. */
export function tcpFrame(t: TcpSpec): Uint8Array {
  const payload = t.payload ?? new Uint8Array(0);
  const ipLen = 20 + 20 + payload.length;
  const f = new Uint8Array(14 + ipLen);
  f.set(macBytes(t.dstMac), 0);
  f.set(macBytes(t.srcMac), 6);
  f[12] = 0x08;
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 2] = ipLen >> 8;
  f[ip + 3] = ipLen & 255;
  f[ip + 5] = 1; // ID
  f[ip + 6] = 0x40; // DF
  f[ip + 8] = t.ttl ?? 64;
  f[ip + 9] = 6;
  IpAddr.parse(t.src).writeBytes(f, ip + 12);
  IpAddr.parse(t.dst).writeBytes(f, ip + 16);
  const ic = ~csum(f, ip, 20) & 0xffff;
  f[ip + 10] = ic >> 8;
  f[ip + 11] = ic & 255;
  const tcp = ip + 20;
  f[tcp] = t.sport >> 8;
  f[tcp + 1] = t.sport & 255;
  f[tcp + 2] = t.dport >> 8;
  f[tcp + 3] = t.dport & 255;
  new DataView(f.buffer).setUint32(tcp + 4, t.seq >>> 0);
  new DataView(f.buffer).setUint32(tcp + 8, t.ack >>> 0);
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = t.flags;
  f[tcp + 14] = 0xfa;
  f[tcp + 15] = 0xf0;
  f.set(payload, tcp + 20);
  // pseudo header: src, dst, zero, proto, TCP length
  const ph = new Uint8Array(12);
  ph.set(f.subarray(ip + 12, ip + 20), 0);
  ph[9] = 6;
  ph[10] = (20 + payload.length) >> 8;
  ph[11] = (20 + payload.length) & 255;
  const tc = ~csum(f, tcp, 20 + payload.length, csum(ph, 0, 12)) & 0xffff;
  f[tcp + 16] = tc >> 8;
  f[tcp + 17] = tc & 255;
  return f;
}

/** Writes frames as a classic little-endian pcap (µs), link type Ethernet. */
export function writePcap(file: string, frames: { ts: number; data: Uint8Array }[]): void {
  let size = 24;
  for (const f of frames) size += 16 + f.data.length;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(262144, 16);
  b.writeUInt32LE(1, 20);
  let o = 24;
  for (const f of frames) {
    const sec = Math.floor(f.ts);
    const usec = Math.round((f.ts - sec) * 1e6);
    b.writeUInt32LE(sec, o);
    b.writeUInt32LE(usec, o + 4);
    b.writeUInt32LE(f.data.length, o + 8);
    b.writeUInt32LE(f.data.length, o + 12);
    b.set(f.data, o + 16);
    o += 16 + f.data.length;
  }
  writeFileSync(file, b);
}

/**
 * A little traffic script for one client interface: every call appends a
 * frame `gap` seconds after the previous one.
 */
export class ClientScript {
  readonly frames: { ts: number; data: Uint8Array }[] = [];
  private t: number;
  private readonly routerMac: string;
  private readonly ifMac: string;
  private readonly seqs = new Map<string, number>();

  constructor(routerMac: string, ifMac: string, t0 = 1700000000) {
    this.routerMac = routerMac;
    this.ifMac = ifMac;
    this.t = t0;
  }

  /** Waits `seconds` before the next frame. */
  wait(seconds: number): this {
    this.t += seconds;
    return this;
  }

  private send(client: string, vip: string, flags: number, gap: number): this {
    const [src, sp] = client.split(':');
    const [dst, dp] = vip.split(':');
    const key = `${client}>${vip}`;
    let seq = this.seqs.get(key) ?? 1000 + ((this.frames.length * 7919) % 50000);
    const data = tcpFrame({
      srcMac: this.routerMac,
      dstMac: this.ifMac,
      src,
      dst,
      sport: Number(sp),
      dport: Number(dp),
      flags,
      seq,
      ack: flags & 0x10 ? 1 : 0,
    });
    if (flags & 0x03) seq++;
    this.seqs.set(key, seq);
    this.frames.push({ ts: this.t, data });
    this.t += gap;
    return this;
  }

  syn(client: string, vip: string, gap = 0.001): this {
    this.seqs.delete(`${client}>${vip}`);
    return this.send(client, vip, 0x02, gap);
  }

  ack(client: string, vip: string, gap = 0.001): this {
    return this.send(client, vip, 0x10, gap);
  }

  fin(client: string, vip: string, gap = 0.001): this {
    return this.send(client, vip, 0x11, gap);
  }

  rst(client: string, vip: string, gap = 0.001): this {
    return this.send(client, vip, 0x04, gap);
  }
}
