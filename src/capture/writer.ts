/**
 * Capture writers: classic pcap (µs or ns, little-endian, Ethernet, snaplen
 * 262144) and pcapng (one SHB, one IDB per named interface with `if_name`
 * and `if_tsresol` = 9, i.e. nanosecond timestamps, then EPBs).
 *
 * Records are assembled in a 1 MiB buffer written with one `fs.writeSync`
 * when full (and by `flush`/`close`); a full buffer is written up to the
 * last whole page (4 KiB) of the file and the rest, under a page, moved to
 * the front, so that every write starts and ends on a page boundary (cheaper
 * for the kernel, see FILE_PAGE). Measured by bench/suites/capture.ts on
 * the project's shared 2-core machine (Node 20, a 62 MiB pcap of 100k
 * mixed-size frames copied from the page cache): one writeSync per record ran
 * at 7.8-9.5% of the batched writer's speed, i.e. batching is 10-13x faster
 * (bench/RESULTS.md has the current figures).
 *
 * Frame bytes are copied without allocating when the source lies in the same
 * ArrayBuffer as the batch buffer: by the arena's WebAssembly copy function
 * when that ArrayBuffer is a capture arena (`sharedCaptureBuffers`,
 * `captureArena` in arena.ts), ~10 ns per frame cheaper than `copyWithin`,
 * which copies within any other ArrayBuffer. Otherwise they go through
 * `Uint8Array.set` over a new view, the one short-lived object per record:
 * every allocation-free JS alternative measured slower on Node 20 (a byte
 * loop 10-15x, a DataView 32-bit word loop 4x, for 60-1514-byte frames), and
 * `Buffer#copy` allocates the same view internally. Copying a capture
 * unchanged (our reader into this writer, bench/suites/capture.ts) runs at
 * ~0.73-0.8x the speed of a bare 1 MiB read/write loop with shared buffers,
 * 0.92-0.95x a minimal loop doing the same copies with no checks (bench/RESULTS.md).
 *
 * Errors while creating or writing the file raise CaptureWriteError with a
 * one-line message naming the file and the cause (`cannot write capture
 * out.pcap: no space left on device (ENOSPC)`). After such an error the
 * writer is dead: the file descriptor is closed, further writes throw the same
 * error again, `close()` does nothing. A writer closed after its last write
 * is a complete, valid capture.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { arenaCopier, captureArena, type ArenaCopy } from './arena.js';
import { CaptureWriteError } from './errors.js';
import { LINKTYPE_ETHERNET } from './linktype.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';
import { PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_SHB, IDB_OPT } from './pcapng.js';
import { DEFAULT_READ_BUFFER, FILE_PAGE, MAX_CAPLEN } from './source.js';
import { TsConverter } from './timestamp.js';

/** Size of the batch buffer. */
export const DEFAULT_WRITE_BUFFER = 1024 * 1024;
/** Snapshot length written in headers. */
export const WRITER_SNAPLEN = 262144;

export interface WriterOptions {
  /** Batch buffer size in bytes (default 1 MiB); tiny values are for tests and measurements. */
  bufferSize?: number;
  /**
   * Storage for the batch buffer instead of a new one (`bufferSize` is then
   * ignored; at least 64 bytes). When a frame given to `write` lies in the
   * same ArrayBuffer (see `sharedCaptureBuffers`), it is copied with
   * `copyWithin`, allocating nothing; the two regions must not overlap.
   */
  buffer?: Uint8Array;
}

/**
 * A reader buffer and a writer batch buffer carved from one capture arena
 * (arena.ts: WebAssembly memory with a cheap copy function), for
 * `openCapture(path, { buffer: read })` and `openOutput(path, names, { buffer:
 * write })`: frames go from the reader (or from any other view of the same
 * ArrayBuffer, such as `extra`) to the writer with no allocation per frame.
 * `extra` bytes at the end are free for the caller's own scratch frames.
 */
export function sharedCaptureBuffers(
  readBytes = DEFAULT_READ_BUFFER,
  writeBytes = DEFAULT_WRITE_BUFFER,
  extra = 0,
): { read: Uint8Array; write: Uint8Array; extra: Uint8Array } {
  const arena = captureArena(readBytes + writeBytes + extra);
  return {
    read: arena.subarray(0, readBytes),
    write: arena.subarray(readBytes, readBytes + writeBytes),
    extra: arena.subarray(readBytes + writeBytes),
  };
}

export interface PcapWriterOptions extends WriterOptions {
  /** Nanosecond timestamps (magic a1b23c4d); default false: microseconds (fractions truncated). */
  nanosecond?: boolean;
}

export interface CaptureWriter {
  readonly file: string;
  readonly format: 'pcap' | 'pcapng';
  /** Frames written so far (accepted by `write`, flushed or not). */
  readonly framesWritten: number;
  /** Bytes of the file so far, headers included (flushed or not). */
  readonly bytesWritten: number;
  /**
   * Appends a frame: `buf[off .. off + len)` with its original length and
   * timestamp (seconds, nanoseconds). `ifaceIndex` picks the pcapng interface
   * (an index into the names given at creation); pcap ignores it.
   */
  write(
    ifaceIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void;
  /**
   * Appends a frame made of two parts, `a[aOff .. aOff + aLen)` then
   * `b[bOff .. bOff + bLen)` (headers built apart from a payload that stays
   * where it is), with no intermediate copy. Same contract as `write`.
   */
  writeParts(
    ifaceIndex: number,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void;
  /** Writes out the batch buffer. */
  flush(): void;
  /** Flushes and closes the file; idempotent. */
  close(): void;
}

/**
 * Copies frames into `out`, a view of `whole` (its whole ArrayBuffer) at
 * `outBase`, without allocating where it can (`copyBytes`). What a source
 * buffer is (its ArrayBuffer, offset, whether it shares out's) is cached
 * while the same source comes back, one cache per part (`copyIn`: `write`
 * and the first part of `writeParts`; `copyIn1`: the second part), so two
 * alternating sources do not evict each other: the `buffer` / `byteOffset`
 * getters are calls into V8's runtime, too slow to pay per frame. The base of
 * the capture writers and of a sharded replay's FrameBatcher (replay/batches.ts).
 */
export abstract class FrameCopier {
  declare protected out: Uint8Array;
  declare protected whole: Uint8Array;
  protected outBase = 0;
  /** The arena's copy function when `out` lies in a capture arena (arena.ts), else null. */
  private arenaCopy: ArenaCopy | null = null;
  private src: Uint8Array | null = null;
  private srcBuffer: ArrayBufferLike = new ArrayBuffer(0);
  private srcBase = 0;
  private srcShared = false;
  private src1: Uint8Array | null = null;
  private src1Buffer: ArrayBufferLike = new ArrayBuffer(0);
  private src1Base = 0;
  private src1Shared = false;

  /** Copies into `out` from now on. */
  protected target(out: Uint8Array): void {
    this.out = out;
    this.whole = new Uint8Array(out.buffer);
    this.outBase = out.byteOffset;
    this.arenaCopy = arenaCopier(out.buffer);
    this.src = null;
    this.src1 = null;
  }

  /** Copies buf[off .. off + len) to out[p ..). */
  protected copyIn(buf: Uint8Array, off: number, len: number, p: number): void {
    if (buf !== this.src) {
      this.src = buf;
      this.srcBuffer = buf.buffer;
      this.srcBase = buf.byteOffset;
      this.srcShared = buf.buffer === this.whole.buffer;
    }
    copyBytes(
      this.whole,
      this.arenaCopy,
      this.outBase + p,
      buf,
      off,
      len,
      this.srcShared,
      this.srcBuffer,
      this.srcBase,
    );
  }

  /** copyIn for the second part of `writeParts` (its own source cache). */
  protected copyIn1(buf: Uint8Array, off: number, len: number, p: number): void {
    if (buf !== this.src1) {
      this.src1 = buf;
      this.src1Buffer = buf.buffer;
      this.src1Base = buf.byteOffset;
      this.src1Shared = buf.buffer === this.whole.buffer;
    }
    copyBytes(
      this.whole,
      this.arenaCopy,
      this.outBase + p,
      buf,
      off,
      len,
      this.src1Shared,
      this.src1Buffer,
      this.src1Base,
    );
  }
}

abstract class BatchWriter extends FrameCopier implements CaptureWriter {
  readonly file: string;
  readonly format: 'pcap' | 'pcapng';
  framesWritten = 0;
  bytesWritten = 0;
  declare protected dv: DataView;
  protected pos = 0;
  /**
   * Bytes usable in `out`: its length while the writer is open, -1 once it is
   * closed or failed, so the one "does the record fit" test on the fast path
   * also sends writes after close / failure to `reserve`, which throws.
   */
  protected limit = 0;
  private fd = -1;
  private closed = false;
  private failure: CaptureWriteError | null = null;

  constructor(file: string, format: 'pcap' | 'pcapng', opts: WriterOptions) {
    super();
    this.file = file;
    this.format = format;
    if (opts.buffer && opts.buffer.length < 64)
      throw new RangeError("a capture writer's buffer needs at least 64 bytes");
    this.target(
      opts.buffer ?? new Uint8Array(Math.max(64, Math.floor(opts.bufferSize ?? DEFAULT_WRITE_BUFFER))),
    );
    this.dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    this.limit = this.out.length;
    try {
      this.fd = openSync(file, 'w');
    } catch (e) {
      throw new CaptureWriteError(file, e);
    }
  }

  abstract write(
    ifaceIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void;

  abstract writeParts(
    ifaceIndex: number,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void;

  /**
   * The slow path of a write: throws after close / failure or for a frame
   * over 256 KiB, else makes room for n more bytes (flushing, or growing the
   * buffer for one huge record). Re-read `pos`, `out` and `dv` afterwards.
   */
  protected reserve(n: number, frameLen: number): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`capture writer for ${this.file} used after close()`);
    if (!(frameLen >= 0 && frameLen <= MAX_CAPLEN)) {
      throw new RangeError(`frame length ${frameLen} out of range 0..${MAX_CAPLEN}`);
    }
    if (this.pos + n <= this.limit) return;
    // write whole pages of the file only, keeping its last partial page for the next batch
    const keep = this.bytesWritten % FILE_PAGE;
    if (keep < this.pos && keep + n <= this.out.length) this.flushTo(this.pos - keep);
    else this.flush();
    if (n > this.out.length) {
      this.target(new Uint8Array(n));
      this.dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
      this.limit = n;
    }
  }

  flush(): void {
    this.flushTo(this.pos);
  }

  /** Writes out `out[0 .. upto)` and moves the rest of the batch to the front. */
  private flushTo(upto: number): void {
    if (this.failure) throw this.failure;
    let done = 0;
    try {
      while (done < upto) done += writeSync(this.fd, this.out, done, upto - done);
    } catch (e) {
      this.failure = new CaptureWriteError(this.file, e);
      this.limit = -1;
      this.closeQuietly();
      throw this.failure;
    }
    const rest = this.pos - upto;
    if (rest > 0) copyWithin.call(this.out, 0, upto, this.pos);
    this.pos = rest;
  }

  close(): void {
    if (this.closed || this.failure) return;
    this.closed = true;
    this.flush(); // on failure it closes the descriptor itself
    this.limit = -1;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch (e) {
      throw new CaptureWriteError(this.file, e);
    }
  }

  private closeQuietly(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // the write error is the one worth reporting
      }
      this.fd = -1;
    }
  }
}

/** Classic pcap writer (little-endian, link type Ethernet, snaplen 262144). */
export class PcapWriter extends BatchWriter {
  declare readonly nanosecond: boolean;

  constructor(file: string, opts: PcapWriterOptions = {}) {
    super(file, 'pcap', opts);
    this.nanosecond = opts.nanosecond === true;
    const dv = this.dv;
    dv.setUint32(0, this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setInt32(8, 0, true);
    dv.setUint32(12, 0, true);
    dv.setUint32(16, WRITER_SNAPLEN, true);
    dv.setUint32(20, LINKTYPE_ETHERNET, true);
    this.pos = 24;
    this.bytesWritten = 24;
  }

  write(
    _ifaceIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const need = 16 + len;
    if (this.pos + need > this.limit || len > MAX_CAPLEN) this.reserve(need, len);
    const p = this.pos;
    const dv = this.dv;
    // (a conditional written inside the call's arguments keeps V8 from inlining that DataView call)
    const frac = this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000);
    dv.setUint32(p, tsSec, true);
    dv.setUint32(p + 4, frac, true);
    dv.setUint32(p + 8, len, true);
    dv.setUint32(p + 12, origLen, true);
    this.copyIn(buf, off, len, p + 16);
    this.pos = p + need;
    this.bytesWritten += need;
    this.framesWritten++;
  }

  writeParts(
    _ifaceIndex: number,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const len = aLen + bLen;
    const need = 16 + len;
    if (this.pos + need > this.limit || len > MAX_CAPLEN) this.reserve(need, len);
    const p = this.pos;
    const dv = this.dv;
    // (a conditional written inside the call's arguments keeps V8 from inlining that DataView call)
    const frac = this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000);
    dv.setUint32(p, tsSec, true);
    dv.setUint32(p + 4, frac, true);
    dv.setUint32(p + 8, len, true);
    dv.setUint32(p + 12, origLen, true);
    if (aLen > 0) this.copyIn(a, aOff, aLen, p + 16);
    if (bLen > 0) this.copyIn1(b, bOff, bLen, p + 16 + aLen);
    this.pos = p + need;
    this.bytesWritten += need;
    this.framesWritten++;
  }
}

/** pcapng writer: one section (little-endian), one Ethernet IDB per interface name, nanosecond EPBs. */
export class PcapngWriter extends BatchWriter {
  declare readonly interfaceNames: readonly string[];
  private readonly tsc = new TsConverter();

  /** `ifaces`: one name per interface (`if_name`; '' = no name); none = one unnamed interface. */
  constructor(file: string, ifaces: readonly string[], opts: WriterOptions = {}) {
    super(file, 'pcapng', opts);
    this.interfaceNames = ifaces.length ? [...ifaces] : [''];
    this.writeShb();
    for (const name of this.interfaceNames) this.writeIdb(name);
  }

  private writeShb(): void {
    const appl = Buffer.from('ipvs-sim', 'utf8');
    const len = 28 + 4 + pad4(appl.length) + 4;
    this.reserve(len, 0);
    const p = this.pos;
    const dv = this.dv;
    dv.setUint32(p, PCAPNG_SHB, true);
    dv.setUint32(p + 4, len, true);
    dv.setUint32(p + 8, PCAPNG_BYTE_ORDER_MAGIC, true);
    dv.setUint16(p + 12, 1, true);
    dv.setUint16(p + 14, 0, true);
    dv.setInt32(p + 16, -1, true); // section length: unknown
    dv.setInt32(p + 20, -1, true);
    let o = this.option(p + 24, 4, appl); // shb_userappl
    dv.setUint32(o, 0, true); // opt_endofopt
    o += 4;
    dv.setUint32(o, len, true);
    this.pos = p + len;
    this.bytesWritten += len;
  }

  private writeIdb(name: string): void {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > 65535) throw new RangeError(`interface name too long (${nameBytes.length} bytes)`);
    const nameOpt = nameBytes.length ? 4 + pad4(nameBytes.length) : 0;
    const len = 16 + nameOpt + 8 + 4 + 4;
    this.reserve(len, 0);
    const p = this.pos;
    const dv = this.dv;
    dv.setUint32(p, PCAPNG_IDB, true);
    dv.setUint32(p + 4, len, true);
    dv.setUint16(p + 8, LINKTYPE_ETHERNET, true);
    dv.setUint16(p + 10, 0, true);
    dv.setUint32(p + 12, WRITER_SNAPLEN, true);
    let o = p + 16;
    if (nameBytes.length) o = this.option(o, IDB_OPT.NAME, nameBytes);
    o = this.option(o, IDB_OPT.TSRESOL, Buffer.of(9));
    dv.setUint32(o, 0, true); // opt_endofopt
    o += 4;
    dv.setUint32(o, len, true);
    this.pos = p + len;
    this.bytesWritten += len;
  }

  /** Writes an option (code, length, value, zero padding) at o; returns the offset after it. */
  private option(o: number, code: number, value: Uint8Array): number {
    this.dv.setUint16(o, code, true);
    this.dv.setUint16(o + 2, value.length, true);
    this.out.set(value, o + 4);
    const end = o + 4 + pad4(value.length);
    this.out.fill(0, o + 4 + value.length, end);
    return end;
  }

  write(
    ifaceIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const p = this.beginEpb(ifaceIndex, len, origLen, tsSec, tsNsec);
    this.copyIn(buf, off, len, p + 28);
    const padded = (len + 3) & ~3;
    this.finishEpb(p, len, padded, 32 + padded);
  }

  writeParts(
    ifaceIndex: number,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const len = aLen + bLen;
    const p = this.beginEpb(ifaceIndex, len, origLen, tsSec, tsNsec);
    if (aLen > 0) this.copyIn(a, aOff, aLen, p + 28);
    if (bLen > 0) this.copyIn1(b, bOff, bLen, p + 28 + aLen);
    this.finishEpb(p, len, (len + 3) & ~3, 32 + ((len + 3) & ~3));
  }

  /** Checks the interface, makes room and writes an EPB's fixed fields; returns the block's offset. */
  private beginEpb(ifaceIndex: number, len: number, origLen: number, tsSec: number, tsNsec: number): number {
    if (!(ifaceIndex >= 0 && ifaceIndex < this.interfaceNames.length)) {
      throw new RangeError(
        `interface index ${ifaceIndex} out of range (${this.interfaceNames.length} interfaces)`,
      );
    }
    const need = 32 + ((len + 3) & ~3);
    if (this.pos + need > this.limit || len > MAX_CAPLEN) this.reserve(need, len);
    const p = this.pos;
    const dv = this.dv;
    const tsc = this.tsc;
    tsc.toNsUnits(tsSec, tsNsec);
    dv.setUint32(p, PCAPNG_EPB, true);
    dv.setUint32(p + 4, need, true);
    dv.setUint32(p + 8, ifaceIndex, true);
    dv.setUint32(p + 12, tsc.hi, true);
    dv.setUint32(p + 16, tsc.lo, true);
    dv.setUint32(p + 20, len, true);
    dv.setUint32(p + 24, origLen, true);
    return p;
  }

  /** Zero padding and trailing length of the EPB at p whose frame is in place. */
  private finishEpb(p: number, len: number, padded: number, need: number): void {
    const out = this.out;
    // zero padding (the buffer is reused)
    for (let i = p + 28 + len; i < p + 28 + padded; i++) out[i] = 0;
    this.dv.setUint32(p + 28 + padded, need, true);
    this.pos = p + need;
    this.bytesWritten += need;
    this.framesWritten++;
  }
}

/**
 * Parts up to this many bytes from a buffer outside the writer's ArrayBuffer
 * are copied byte by byte: cheaper than the typed-array view `set` needs
 * (an allocation) for the headers a two-part write typically carries.
 */
const SMALL_COPY = 96;

/**
 * `copyWithin` called through the prototype's function: `view.copyWithin(…)`
 * on a typed array is a generic property load in V8's optimised code (a
 * LoadIC call per frame), this is not.
 */
const copyWithin = Uint8Array.prototype.copyWithin;

function smallCopy(src: Uint8Array, off: number, len: number, dst: Uint8Array, p: number): void {
  for (let i = 0; i < len; i++) dst[p + i] = src[off + i];
}

/**
 * Copies `src[off .. off + len)` to `whole[dst ..)` without allocating where
 * it can: `shared` says src lies in whole's ArrayBuffer (`srcBase` is its
 * offset there), then `copy` (the arena's, arena.ts) or copyWithin moves the
 * bytes; otherwise a small part goes byte by byte and a larger one through a
 * view of `srcBuffer`.
 */
function copyBytes(
  whole: Uint8Array,
  copy: ArenaCopy | null,
  dst: number,
  src: Uint8Array,
  off: number,
  len: number,
  shared: boolean,
  srcBuffer: ArrayBufferLike,
  srcBase: number,
): void {
  if (shared) {
    const from = srcBase + off;
    if (copy !== null) copy(dst, from, len);
    else copyWithin.call(whole, dst, from, from + len);
  } else if (len <= SMALL_COPY) smallCopy(src, off, len, whole, dst);
  else whole.set(new Uint8Array(srcBuffer, srcBase + off, len), dst);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** A pcap writer (µs unless `nanosecond`). */
export function createPcapWriter(path: string, opts: PcapWriterOptions = {}): PcapWriter {
  return new PcapWriter(path, opts);
}

/** A pcapng writer with one interface per name. */
export function createPcapngWriter(
  path: string,
  ifaces: readonly string[],
  opts: WriterOptions = {},
): PcapngWriter {
  return new PcapngWriter(path, ifaces, opts);
}

/**
 * A writer chosen by the file name: classic pcap when it ends in `.pcap`
 * (any case; `ifaces` ignored, µs unless `nanosecond`), pcapng otherwise.
 */
export function openOutput(
  path: string,
  ifaces: readonly string[],
  opts: PcapWriterOptions = {},
): CaptureWriter {
  if (/\.pcap$/i.test(path)) return new PcapWriter(path, opts);
  return new PcapngWriter(path, ifaces, opts);
}
