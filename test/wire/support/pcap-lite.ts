/**
 * A minimal classic-pcap reader for the wire tests (the oracle's golden
 * captures): both byte orders, µs and ns magic, Ethernet only. The real
 * reader lives in src/capture/; this one keeps wire/ tests independent of it.
 */
import { readFileSync } from 'node:fs';

export interface LiteFrame {
  index: number;
  data: Uint8Array;
  capLen: number;
  origLen: number;
}

export function readPcap(file: string): LiteFrame[] {
  const b = new Uint8Array(readFileSync(file));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`${file}: not a classic pcap`);
  if (dv.getUint32(20, le) !== 1) throw new Error(`${file}: not Ethernet`);
  const out: LiteFrame[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const capLen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    off += 16;
    if (off + capLen > b.length) throw new Error(`${file}: record cut short at ${off}`);
    out.push({ index: out.length, data: b.slice(off, off + capLen), capLen, origLen });
    off += capLen;
  }
  return out;
}

/** One line of an oracle trace.tsv: an injected (`in`) or emitted (`out`) frame. */
export interface TraceLine {
  dir: 'in' | 'out';
  inIdx: number;
  side: string;
}

export function readTrace(file: string): TraceLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .filter((f) => f[0] === 'in' || f[0] === 'out')
    .map((f) => ({ dir: f[0] as 'in' | 'out', inIdx: Number(f[1]), side: f[2] }));
}
