/**
 * pcapng files: a sequence of blocks (type, total length, body, total length
 * again), grouped in sections that each start with a Section Header Block
 * whose byte-order magic sets the byte order of the section.
 *
 * Read: SHB (a new one starts a new section: its byte order may differ, and
 * its interfaces replace the previous section's), IDB (link type, snaplen,
 * `if_name`, `if_description`, `if_tsresol` as a power of 10 or of 2,
 * `if_tsoffset`, `if_fcslen`), and the three packet blocks: EPB, SPB and the
 * obsolete OPB. Every other block type (statistics, name resolution,
 * decryption secrets, custom, unknown) is skipped after its framing is
 * checked.
 *
 * A Simple Packet Block has no timestamp: its frame keeps the previous
 * frame's timestamp (0 for the first frame), so time never runs backwards in
 * the replay. Its captured length is the smallest of the original length, the
 * interface's snaplen and the block's room.
 *
 * Link types: frames of non-Ethernet interfaces are an error, raised by the
 * `next()` that reaches the first such frame (an unused non-Ethernet
 * interface is harmless), unless the reader was opened with `anyLinkType`,
 * in which case they are delivered with their `linkType`.
 *
 * Checks (CaptureFormatError with the byte offset of the block): byte-order
 * magic, major version 1, a block length under 12, not a multiple of 4, over
 * 16 MiB, or different from the trailing copy, a block or a block header cut
 * short by the end of the file, a packet block too short for its fixed
 * fields or whose captured length exceeds the block, 256 KiB or the
 * interface's snaplen, a packet for an interface the section has not
 * defined, an IDB option running past its block, an unsupported if_tsresol.
 */
import { UnsupportedLinkTypeError } from './errors.js';
import { describeLinkType, LINKTYPE_ETHERNET } from './linktype.js';
import { CaptureInterface, ChunkedReader, MAX_CAPLEN, type ReaderOptions } from './source.js';
import { TsConverter } from './timestamp.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_OPB = 0x00000002;
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Largest block accepted (any type). */
export const PCAPNG_MAX_BLOCK = 16 * 1024 * 1024;

/** Option codes of an IDB. */
export const IDB_OPT = {
  END: 0,
  NAME: 2,
  DESCRIPTION: 3,
  TSRESOL: 9,
  FCSLEN: 13,
  TSOFFSET: 14,
} as const;

/** Field offsets inside blocks (from the block start). */
export const SHB_F = { TYPE: 0, LEN: 4, BOM: 8, MAJOR: 12, MINOR: 14, SECTION_LEN: 16, OPTIONS: 24 } as const;
export const IDB_F = { LINKTYPE: 8, SNAPLEN: 12, OPTIONS: 16 } as const;
export const EPB_F = { IFACE: 8, TS_HI: 12, TS_LO: 16, CAPLEN: 20, ORIGLEN: 24, DATA: 28 } as const;
export const OPB_F = {
  IFACE: 8,
  DROPS: 10,
  TS_HI: 12,
  TS_LO: 16,
  CAPLEN: 20,
  ORIGLEN: 24,
  DATA: 28,
} as const;
export const SPB_F = { ORIGLEN: 8, DATA: 12 } as const;

export class PcapngReader extends ChunkedReader {
  private le = true;
  /** 0-based section number (-1 before the first SHB). */
  section = -1;
  private readonly tsc = new TsConverter();

  constructor(file: string, fd: number, buf: Uint8Array, end: number, eof: boolean, opts: ReaderOptions) {
    super(file, 'pcapng', fd, buf, end, eof, opts);
    // read the leading SHB, IDBs and other blocks now, so `interfaces` is known before the first frame
    this.scanToPacket();
  }

  /**
   * The common case inline: an Enhanced Packet Block wholly buffered whose
   * framing, interface, link type and captured length all pass. It accepts
   * exactly what `nextSlow` accepts for such a block and sets the same
   * fields; anything else (other blocks, refills, the end, every error) goes
   * to `nextSlow`, which checks everything again from the start.
   */
  next(): boolean {
    const p = this.pos;
    const avail = this.end - p;
    if (avail >= 32 && this.section >= 0) {
      const dv = this.dv;
      const le = this.le;
      const len = dv.getUint32(p + 4, le);
      if (
        dv.getUint32(p, le) === PCAPNG_EPB &&
        len >= 32 &&
        len <= avail &&
        (len & 3) === 0 &&
        len <= PCAPNG_MAX_BLOCK &&
        dv.getUint32(p + len - 4, le) === len
      ) {
        const id = dv.getUint32(p + EPB_F.IFACE, le);
        const capLen = dv.getUint32(p + EPB_F.CAPLEN, le);
        const interfaces = this.interfaces;
        if (id < interfaces.length) {
          const iface = interfaces[id];
          const snapLen = iface.snapLen;
          if (
            (iface.linkType === LINKTYPE_ETHERNET || this.anyLinkType) &&
            capLen <= MAX_CAPLEN &&
            (snapLen === 0 || capLen <= snapLen) &&
            capLen <= len - EPB_F.DATA - 4
          ) {
            this.origLen = dv.getUint32(p + EPB_F.ORIGLEN, le);
            this.epbTime(p, iface);
            this.take(p, len, EPB_F.DATA, capLen, id, iface);
            return true;
          }
        }
      }
    }
    return this.nextSlow();
  }

  /** `next` for everything but a plain, valid, buffered EPB: other blocks, refills, the end, errors. */
  private nextSlow(): boolean {
    const type = this.scanToPacket();
    if (type === 0) return false;
    const p = this.pos;
    const dv = this.dv;
    const le = this.le;
    const len = dv.getUint32(p + 4, le);
    let id: number;
    let dataOff: number;
    let capLen: number;
    if (type === PCAPNG_SPB) {
      if (len < 16) this.fail(p, `simple packet block too short (${len} bytes)`);
      id = 0;
      dataOff = SPB_F.DATA;
      if (this.interfaces.length === 0)
        this.fail(p, 'simple packet block before any interface description block');
    } else {
      if (len < 32) this.fail(p, `packet block too short (${len} bytes)`);
      id = type === PCAPNG_EPB ? dv.getUint32(p + EPB_F.IFACE, le) : dv.getUint16(p + OPB_F.IFACE, le);
      dataOff = EPB_F.DATA;
      if (id >= this.interfaces.length) {
        this.fail(
          p,
          `packet for interface ${id}, but the section defines ${this.interfaces.length} interface(s)`,
        );
      }
    }
    const iface = this.interfaces[id];
    if (iface.linkType !== LINKTYPE_ETHERNET && !this.anyLinkType) this.linkTypeError(p, iface);
    const room = len - dataOff - 4;
    if (type === PCAPNG_SPB) {
      const origLen = dv.getUint32(p + SPB_F.ORIGLEN, le);
      capLen = origLen;
      if (iface.snapLen > 0 && capLen > iface.snapLen) capLen = iface.snapLen;
      if (capLen > room) capLen = room;
      if (capLen > MAX_CAPLEN) this.badCapLen(p, capLen, iface);
      this.origLen = origLen;
      // no timestamp: tsSec / tsNsec keep the previous frame's
    } else {
      capLen = dv.getUint32(p + EPB_F.CAPLEN, le);
      if (capLen > MAX_CAPLEN || (iface.snapLen > 0 && capLen > iface.snapLen))
        this.badCapLen(p, capLen, iface);
      if (capLen > room) this.fail(p, `captured length ${capLen} does not fit in the block (length ${len})`);
      this.origLen = dv.getUint32(p + EPB_F.ORIGLEN, le);
      this.epbTime(p, iface);
    }
    this.take(p, len, dataOff, capLen, id, iface);
    return true;
  }

  /** The timestamp of the EPB / OPB at `p` (both keep it at the same offsets). */
  private epbTime(p: number, iface: CaptureInterface): void {
    const dv = this.dv;
    const le = this.le;
    const tsc = this.tsc;
    tsc.convert(dv.getUint32(p + EPB_F.TS_HI, le), dv.getUint32(p + EPB_F.TS_LO, le), iface.tsResol);
    this.tsSec = tsc.sec + iface.tsOffsetSec;
    this.tsNsec = tsc.nsec;
  }

  /** Delivers the packet block of `len` bytes at `p` (data at p + dataOff) and moves past it. */
  private take(
    p: number,
    len: number,
    dataOff: number,
    capLen: number,
    id: number,
    iface: CaptureInterface,
  ): void {
    this.capLen = capLen;
    this.off = p + dataOff;
    this.ifaceId = id;
    this.ifaceIndex = iface.index;
    this.linkType = iface.linkType;
    this.recordOffset = this.base + p;
    this.pos = p + len;
    this.frameNo++;
  }

  /**
   * Processes blocks up to the next packet block and returns its type with
   * the whole block buffered at `pos` (checked framing, not yet consumed),
   * or 0 at the end of the file.
   */
  private scanToPacket(): number {
    for (;;) {
      if (this.end - this.pos < 12 && !this.fill(12)) {
        if (this.end === this.pos) {
          if (this.section < 0) this.fail(this.pos, 'empty file');
          return 0;
        }
        this.fail(this.pos, `file ends inside a block header (${this.end - this.pos} of 12 bytes)`);
      }
      let p = this.pos;
      let dv = this.dv;
      if (dv.getUint32(p, true) === PCAPNG_SHB) {
        this.readShb();
        continue;
      }
      if (this.section < 0) this.fail(p, 'not a pcapng file (no section header block)');
      const type = dv.getUint32(p, this.le);
      const len = dv.getUint32(p + 4, this.le);
      this.checkBlockLength(p, type, len, 12);
      if (this.end - p < len) {
        if (!this.fill(len)) this.cutShort(type, len);
        p = this.pos;
        dv = this.dv;
      }
      const trailer = dv.getUint32(p + len - 4, this.le);
      if (trailer !== len) {
        this.fail(
          p,
          `block length ${len} does not match the trailing length ${trailer} (block type ${hex(type)})`,
        );
      }
      if (type === PCAPNG_EPB || type === PCAPNG_SPB || type === PCAPNG_OPB) return type;
      if (type === PCAPNG_IDB) this.readIdb(p, len);
      this.pos = p + len;
    }
  }

  private checkBlockLength(p: number, type: number, len: number, min: number): void {
    if (len < min)
      this.fail(p, `block length ${len} is under the minimum of ${min} (block type ${hex(type)})`);
    if (len % 4 !== 0) this.fail(p, `block length ${len} is not a multiple of 4 (block type ${hex(type)})`);
    if (len > PCAPNG_MAX_BLOCK) {
      this.fail(
        p,
        `block length ${len} is over the ${PCAPNG_MAX_BLOCK >> 20} MiB limit (block type ${hex(type)})`,
      );
    }
  }

  private cutShort(type: number, len: number): never {
    this.fail(
      this.pos,
      `block cut short: block type ${hex(type)} of length ${len}, but the file ends after ${this.end - this.pos} bytes`,
    );
  }

  /** A Section Header Block at pos: sets the byte order, starts a new section with no interfaces. */
  private readShb(): void {
    let p = this.pos;
    let dv = this.dv;
    const bom = dv.getUint32(p + SHB_F.BOM, true);
    let le: boolean;
    if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
    else if (bom === 0x4d3c2b1a) le = false;
    else this.fail(p + SHB_F.BOM, `bad byte-order magic ${hex(bom)} in section header block`);
    const len = dv.getUint32(p + SHB_F.LEN, le);
    this.checkBlockLength(p, PCAPNG_SHB, len, 28);
    if (this.end - p < len) {
      if (!this.fill(len)) this.cutShort(PCAPNG_SHB, len);
      p = this.pos;
      dv = this.dv;
    }
    const trailer = dv.getUint32(p + len - 4, le);
    if (trailer !== len) {
      this.fail(
        p,
        `block length ${len} does not match the trailing length ${trailer} (section header block)`,
      );
    }
    const major = dv.getUint16(p + SHB_F.MAJOR, le);
    const minor = dv.getUint16(p + SHB_F.MINOR, le);
    if (major !== 1) this.fail(p, `unsupported pcapng version ${major}.${minor} (expected 1.x)`);
    this.le = le;
    this.section++;
    this.interfaces = [];
    this.pos = p + len;
  }

  /** An Interface Description Block of length len at buffer index p. */
  private readIdb(p: number, len: number): void {
    if (len < 20) this.fail(p, `interface description block too short (${len} bytes)`);
    const dv = this.dv;
    const le = this.le;
    const linkType = dv.getUint16(p + IDB_F.LINKTYPE, le);
    const snapLen = dv.getUint32(p + IDB_F.SNAPLEN, le);
    let name = '';
    let description = '';
    let tsResol = 6;
    let tsOffset = 0;
    let fcsLen = -1;
    const optEnd = p + len - 4;
    let o = p + IDB_F.OPTIONS;
    while (o + 4 <= optEnd) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === IDB_OPT.END) break;
      const v = o + 4;
      const next = v + ((olen + 3) & ~3);
      if (next > optEnd) {
        this.fail(o, `interface option ${code} (length ${olen}) runs past the end of its block`);
      }
      if (code === IDB_OPT.NAME) name = this.text(v, olen);
      else if (code === IDB_OPT.DESCRIPTION) description = this.text(v, olen);
      else if (code === IDB_OPT.TSRESOL && olen >= 1) tsResol = this.buf[v];
      else if (code === IDB_OPT.FCSLEN && olen >= 1) fcsLen = this.buf[v];
      else if (code === IDB_OPT.TSOFFSET && olen >= 8) {
        // signed 64-bit seconds
        tsOffset = dv.getInt32(v + (le ? 4 : 0), le) * 4294967296 + dv.getUint32(v + (le ? 0 : 4), le);
      }
      o = next;
    }
    if (!TsConverter.supports(tsResol)) {
      this.fail(p, `unsupported if_tsresol ${tsResol} (2^-${tsResol - 128} seconds)`);
    }
    const iface = new CaptureInterface(
      this.allInterfaces.length,
      this.interfaces.length,
      this.section,
      linkType,
      snapLen,
      name,
      description,
      tsResol,
      tsOffset,
      fcsLen,
    );
    this.interfaces.push(iface);
    this.allInterfaces.push(iface);
  }

  /** UTF-8 option text, without trailing NULs. */
  private text(v: number, len: number): string {
    let e = v + len;
    while (e > v && this.buf[e - 1] === 0) e--;
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + v, e - v).toString('utf8');
  }

  private badCapLen(p: number, capLen: number, iface: CaptureInterface): never {
    if (capLen > MAX_CAPLEN)
      this.fail(p, `captured length ${capLen} is over the 256 KiB limit (${MAX_CAPLEN})`);
    this.fail(
      p,
      `captured length ${capLen} is over interface ${iface.id}'s snapshot length ${iface.snapLen}`,
    );
  }

  private linkTypeError(p: number, iface: CaptureInterface): never {
    const named = iface.name ? ` (${iface.name})` : '';
    const reason =
      `interface ${iface.id}${named} has link type ${describeLinkType(iface.linkType)}, which is not supported: ` +
      'ipvs-sim reads Ethernet (link type 1) captures';
    throw new UnsupportedLinkTypeError(this.file, this.base + p, this.frameNo + 1, iface.linkType, reason);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
