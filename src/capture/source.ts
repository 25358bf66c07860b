/**
 * What pcap and pcapng readers share: the reader's public face
 * (`CaptureReader`), the interface description, and the buffered file source
 * every reader is built on (`ChunkedReader`).
 *
 * The file is read with `fs.readSync` into one buffer (512 KiB by default,
 * see DEFAULT_READ_BUFFER) that is reused for the whole file: frames are handed out as
 * (buffer, offset, length) views into it. When a record straddles the end of
 * the buffered data, the unread tail is moved to the front and the buffer is
 * refilled behind it, by reads that end on a page boundary of the file (see
 * FILE_PAGE); a record larger than the whole buffer grows it (to the larger
 * of the record and twice the old size). Memory stays constant however large
 * the file.
 */
import { closeSync, readSync } from 'node:fs';
import { CaptureFormatError, CaptureReadError } from './errors.js';
import { LINKTYPE_ETHERNET } from './linktype.js';

/** An uninitialised plain Uint8Array of n bytes (its own ArrayBuffer, not a pooled Buffer slice). */
export function plainBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/**
 * Default size of a reader's buffer: 512 KiB, just above the largest legal
 * pcap record (256 KiB + 16), so a valid pcap never makes it grow. Larger is
 * slower, not faster: on the project's 2-core machine, reading a 62 MiB,
 * 100k-frame pcap cost ~9-11 ms of CPU with a 256-512 KiB buffer, 14 ms with
 * 1 MiB and 31 ms with 4 MiB (the buffer no longer stays in the CPU caches
 * between the kernel's copy and our parsing).
 */
export const DEFAULT_READ_BUFFER = 512 * 1024;
/**
 * Reads and writes start and end on multiples of this many bytes of the file
 * where they can (the page size): the kernel copies whole pages between the
 * page cache and our buffers faster than pieces straddling pages (a bare
 * 1 MiB read/write copy loop took ~5-8% more CPU with reads 100 bytes
 * shorter, i.e. off page boundaries, on the project's machine).
 */
export const FILE_PAGE = 4096;
/** Largest captured length accepted (libpcap's maximum snapshot length, 256 KiB). */
export const MAX_CAPLEN = 262144;

export interface ReaderOptions {
  /**
   * Hand out frames of every link type (check `linkType` per frame) instead of
   * raising UnsupportedLinkTypeError for non-Ethernet ones. Default false.
   */
  anyLinkType?: boolean;
  /** Initial buffer size in bytes (default 512 KiB); tiny values exercise the refill logic in tests. */
  bufferSize?: number;
  /**
   * Storage to read into instead of a new buffer (`bufferSize` is then
   * ignored; at least 24 bytes). Give the reader and the writer two disjoint
   * views of one ArrayBuffer (`sharedCaptureBuffers()`) and the writer copies
   * frames without allocating anything.
   */
  buffer?: Uint8Array;
}

/**
 * One capture interface: the single link of a pcap file, or a pcapng
 * Interface Description Block. Created when the header / IDB is read, never
 * per frame.
 */
export class CaptureInterface {
  /** Position in `CaptureReader.allInterfaces` (every IDB of the file, in order). */
  readonly index: number;
  /** Interface id inside its section (what EPBs refer to); 0 for pcap. */
  readonly id: number;
  /** 0-based section number (pcapng: one per Section Header Block; pcap: 0). */
  readonly section: number;
  readonly linkType: number;
  /** Snapshot length; 0 = no limit. */
  readonly snapLen: number;
  /** pcapng `if_name`, '' when absent (and for pcap). */
  readonly name: string;
  /** pcapng `if_description`, '' when absent. */
  readonly description: string;
  /** The `if_tsresol` byte: 6 = µs (pcapng default, µs pcap), 9 = ns; bit 7 set = 2^-n. */
  readonly tsResol: number;
  /** Length of one timestamp unit in nanoseconds (1000 for µs, 1 for ns, 1e9 / 2^n for 2^-n). */
  readonly tsResolNs: number;
  /** pcapng `if_tsoffset` (seconds added to every timestamp), 0 when absent. */
  readonly tsOffsetSec: number;
  /** Bytes of FCS at the end of each frame when the file says so (pcapng `if_fcslen`, pcap FCS bits), else -1. */
  readonly fcsLen: number;

  constructor(
    index: number,
    id: number,
    section: number,
    linkType: number,
    snapLen: number,
    name: string,
    description: string,
    tsResol: number,
    tsOffsetSec: number,
    fcsLen: number,
  ) {
    this.index = index;
    this.id = id;
    this.section = section;
    this.linkType = linkType;
    this.snapLen = snapLen;
    this.name = name;
    this.description = description;
    this.tsResol = tsResol;
    this.tsResolNs = tsResol < 128 ? 10 ** (9 - tsResol) : 1e9 / 2 ** (tsResol - 128);
    this.tsOffsetSec = tsOffsetSec;
    this.fcsLen = fcsLen;
  }
}

/**
 * A streaming capture reader. `next()` advances to the next frame and
 * returns false at the end of the file; the current frame is then described
 * by the fields below, valid until the following `next()` call (no object is
 * created per frame: the frame's bytes are `buf[off .. off + capLen)` in the
 * reader's own buffer, which may be replaced when it grows, so read `buf`
 * after every `next()`).
 *
 * Errors: a malformed file raises CaptureFormatError from the `next()` call
 * that reaches the bad record, after every earlier frame was delivered; a
 * problem in the file header (or, for pcapng, in the blocks before the first
 * frame) is raised by openCapture. I/O errors raise CaptureReadError.
 */
export interface CaptureReader {
  readonly file: string;
  readonly format: 'pcap' | 'pcapng';
  /** pcap: whether the file has nanosecond resolution (magic a1b23c4d); pcapng: false. */
  readonly nanosecond: boolean;
  /** Interfaces of the current section (pcapng; reset by a new SHB), so `interfaces[ifaceId]` describes the current frame. */
  readonly interfaces: readonly CaptureInterface[];
  /** Every interface seen so far in the file, all sections; `allInterfaces[ifaceIndex]` describes the current frame. */
  readonly allInterfaces: readonly CaptureInterface[];

  next(): boolean;
  close(): void;

  /** The reader's buffer; the current frame is `buf[off .. off + capLen)`. */
  readonly buf: Uint8Array;
  readonly off: number;
  readonly capLen: number;
  readonly origLen: number;
  /** Timestamp: seconds since 1970 and nanoseconds (exact). */
  readonly tsSec: number;
  readonly tsNsec: number;
  /** Interface id within the section (pcapng), 0 for pcap. */
  readonly ifaceId: number;
  /** Index of the frame's interface in `allInterfaces`. */
  readonly ifaceIndex: number;
  /** Link type of the frame's interface (always 1 unless opened with anyLinkType). */
  readonly linkType: number;
  /** 0-based number of the current frame (-1 before the first `next()`). */
  readonly frameNo: number;
  /** Byte offset in the file of the current frame's record (pcap record header / pcapng block). */
  readonly recordOffset: number;
}

/** The buffered file source and the per-frame fields, shared by PcapReader and PcapngReader. */
export abstract class ChunkedReader implements CaptureReader {
  readonly file: string;
  readonly format: 'pcap' | 'pcapng';
  nanosecond = false;
  interfaces: CaptureInterface[] = [];
  allInterfaces: CaptureInterface[] = [];

  declare buf: Uint8Array;
  off = 0;
  capLen = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  ifaceId = 0;
  ifaceIndex = 0;
  linkType = LINKTYPE_ETHERNET;
  frameNo = -1;
  recordOffset = 0;

  protected readonly anyLinkType: boolean;
  declare protected dv: DataView;
  /** Next unread byte in buf. */
  protected pos = 0;
  /** End of the valid data in buf. */
  protected end = 0;
  /** File offset of buf[0]. */
  protected base = 0;
  protected eof = false;
  private fd = -1;

  /** `buf[0 .. end)` holds the first bytes of the file (already read by openCapture to sniff the format). */
  constructor(
    file: string,
    format: 'pcap' | 'pcapng',
    fd: number,
    buf: Uint8Array,
    end: number,
    eof: boolean,
    opts: ReaderOptions,
  ) {
    this.file = file;
    this.format = format;
    this.fd = fd;
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
    this.eof = eof;
    this.anyLinkType = opts.anyLinkType === true;
  }

  abstract next(): boolean;

  /** Closes the file (idempotent); `next()` returns false afterwards. */
  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.eof = true;
      this.pos = this.end = 0;
      closeSync(fd);
    }
  }

  /**
   * Makes `buf[pos .. pos + n)` valid, reading on as needed; false when the
   * file ends first (then `end - pos` bytes are left). May move the unread
   * data to the front of the buffer or replace the buffer: re-read `pos`,
   * `buf` and `dv` afterwards.
   */
  protected fill(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    // move the unread tail to the front when n would not fit, or once half the buffer is consumed:
    // reading into a sliver left at the end would cost a system call for a few bytes
    if (this.pos + n > this.buf.length || this.pos >= this.buf.length >> 1) this.makeRoom(n);
    while (this.end - this.pos < n && !this.eof) {
      let want = this.buf.length - this.end;
      // end the read on a page boundary of the file when that still brings the bytes needed (and
      // most of what fits): every read after the first then starts and ends page-aligned
      const cut = (this.base + this.end + want) % FILE_PAGE;
      if (cut < want / 2 && want - cut >= n - (this.end - this.pos)) want -= cut;
      let r: number;
      try {
        r = readSync(this.fd, this.buf, this.end, want, null);
      } catch (e) {
        throw new CaptureReadError(this.file, e);
      }
      if (r === 0) this.eof = true;
      else this.end += r;
    }
    return this.end - this.pos >= n;
  }

  /** Moves the unread tail to the front of the buffer, growing it first if n bytes would not fit at all. */
  private makeRoom(n: number): void {
    const tail = this.end - this.pos;
    if (n > this.buf.length) {
      const bigger = plainBytes(Math.max(n, this.buf.length * 2));
      bigger.set(this.buf.subarray(this.pos, this.end), 0);
      this.buf = bigger;
      this.dv = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    } else if (tail > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = tail;
  }

  /** File offset of buffer index i. */
  protected fileOffset(i: number): number {
    return this.base + i;
  }

  /** Throws a CaptureFormatError at buffer index i for the frame being read. */
  protected fail(i: number, reason: string): never {
    throw new CaptureFormatError(this.file, this.base + i, this.frameNo + 1, reason);
  }
}
