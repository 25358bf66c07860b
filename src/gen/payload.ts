/**
 * Payload bytes of generated segments, and their checksum contribution
 * without reading them.
 *
 * A request's bytes are REQUEST_HEAD followed by a periodic filler (an upload
 * body when the request is longer than the head); a response's are
 * RESPONSE_HEAD and the same kind of filler. Payloads are never built per
 * frame: a pattern buffer holds the head, then one filler period, then enough
 * filler for the largest segment, so stream bytes [k, k + len) are always one
 * contiguous slice of it (`at(k)`), copied straight into the capture writer.
 * Prefix sums of the buffer at both byte parities give the slice's RFC 1071
 * sum in O(1) (`sum(k, len)`), for the L4 checksum.
 */

/** A complete HTTP/1.1 GET (what a request of exactly this length is). */
export const REQUEST_HEAD =
  'GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: ipvs-sim-gen\r\nAccept: */*\r\n\r\n';
/** The head of every response. */
export const RESPONSE_HEAD =
  'HTTP/1.1 200 OK\r\nServer: ipvs-sim-gen\r\nContent-Type: application/octet-stream\r\n\r\n';
/** One period of filler (64 bytes). */
const FILL = 'ipvs-sim generated payload, 0123456789 abcdefghijklmnopqrstuvw.\n';
/** Largest payload of one frame the patterns serve. */
export const MAX_SEGMENT = 1500;

export class PayloadPattern {
  /** Length of the head. */
  readonly head: number;
  /** Offset of the pattern in the buffer it was written to. */
  readonly base: number;
  /** Bytes the pattern occupies. */
  readonly length: number;
  /** even[i]: sum of bytes [0, i) weighting even offsets as high bytes; odd[i]: odd offsets high. */
  private readonly even: Float64Array;
  private readonly odd: Float64Array;
  private readonly period: number;

  /** Writes the pattern (`head` then filler) into `buf` at `base`. */
  constructor(buf: Uint8Array, base: number, head: string) {
    const h = Buffer.from(head, 'latin1');
    const fill = Buffer.from(FILL, 'latin1');
    this.head = h.length;
    this.period = fill.length;
    this.base = base;
    this.length = h.length + fill.length + MAX_SEGMENT;
    if (base + this.length > buf.length) throw new RangeError('payload pattern does not fit its buffer');
    for (let i = 0; i < this.length; i++)
      buf[base + i] = i < h.length ? h[i] : fill[(i - h.length) % fill.length];
    this.even = new Float64Array(this.length + 1);
    this.odd = new Float64Array(this.length + 1);
    for (let i = 0; i < this.length; i++) {
      const v = buf[base + i];
      this.even[i + 1] = this.even[i] + ((i & 1) === 0 ? v << 8 : v);
      this.odd[i + 1] = this.odd[i] + ((i & 1) === 1 ? v << 8 : v);
    }
  }

  /** Index (relative to `base`) of stream byte k: the slice [at(k), at(k) + len) holds bytes k .. k + len - 1. */
  at(k: number): number {
    const h = this.head;
    return k < h ? k : h + ((k - h) % this.period);
  }

  /** RFC 1071 sum of the `len` bytes starting at pattern index `a`, the first byte taken as a high byte. */
  sum(a: number, len: number): number {
    return (a & 1) === 0 ? this.even[a + len] - this.even[a] : this.odd[a + len] - this.odd[a];
  }
}
