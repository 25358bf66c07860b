/**
 * Classic libpcap files: a 24-byte file header, then records of a 16-byte
 * header (seconds, µs or ns fraction, captured length, original length) and
 * the frame bytes. Both byte orders, µs (magic a1b2c3d4) and ns (a1b23c4d)
 * resolution, any snapshot length.
 *
 * Checks, each a CaptureFormatError naming the byte offset: magic, a file
 * header cut short, version 2.x, a captured length over 256 KiB or over the
 * file's snapshot length (a snaplen of 0, or above 256 KiB, means 256 KiB, as
 * libpcap reads it), a record cut short by the end of the file (a capture
 * whose writer was killed: every complete frame is delivered first). A link
 * type other than Ethernet is an UnsupportedLinkTypeError at open unless the
 * reader was opened with `anyLinkType`.
 *
 * Timestamps are not normalised: a µs fraction of 1000000 or more (a broken
 * writer) becomes tsNsec >= 1e9, as the file says.
 */
import { CaptureFormatError, UnsupportedLinkTypeError } from './errors.js';
import { describeLinkType, LINKTYPE_ETHERNET } from './linktype.js';
import { CaptureInterface, ChunkedReader, MAX_CAPLEN, type ReaderOptions } from './source.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** Field offsets in the pcap file header and record header. */
export const PCAP_HDR = { MAGIC: 0, VERSION_MAJOR: 4, VERSION_MINOR: 6, SNAPLEN: 16, LINKTYPE: 20 } as const;
export const PCAP_REC = { TS_SEC: 0, TS_FRAC: 4, CAPLEN: 8, ORIGLEN: 12 } as const;

/** The message for a non-Ethernet capture. */
export function unsupportedLinkTypeMessage(linkType: number): string {
  return `link type ${describeLinkType(linkType)} is not supported: ipvs-sim reads Ethernet (link type 1) captures`;
}

export class PcapReader extends ChunkedReader {
  private le = true;
  private snapLen = 0;
  /** Largest captured length accepted: the snapshot length, or 256 KiB when it is 0 or larger. */
  private capLimit = MAX_CAPLEN;
  /** Nanoseconds per unit of the timestamp fraction: 1 (ns files) or 1000 (µs). */
  private fracNs = 1000;

  constructor(file: string, fd: number, buf: Uint8Array, end: number, eof: boolean, opts: ReaderOptions) {
    super(file, 'pcap', fd, buf, end, eof, opts);
    if (!this.fill(PCAP_FILE_HEADER_LEN)) {
      throw new CaptureFormatError(
        file,
        0,
        0,
        `pcap file header cut short: the file has ${this.end} of ${PCAP_FILE_HEADER_LEN} bytes`,
      );
    }
    const dv = this.dv;
    const magic = dv.getUint32(0, false);
    if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) this.le = false;
    else if (dv.getUint32(0, true) === PCAP_MAGIC_US || dv.getUint32(0, true) === PCAP_MAGIC_NS)
      this.le = true;
    else this.fail(0, `not a pcap file (magic 0x${magic.toString(16).padStart(8, '0')})`);
    this.nanosecond = dv.getUint32(0, this.le) === PCAP_MAGIC_NS;
    this.fracNs = this.nanosecond ? 1 : 1000;
    const major = dv.getUint16(PCAP_HDR.VERSION_MAJOR, this.le);
    const minor = dv.getUint16(PCAP_HDR.VERSION_MINOR, this.le);
    if (major !== 2)
      this.fail(PCAP_HDR.VERSION_MAJOR, `unsupported pcap version ${major}.${minor} (expected 2.x)`);
    this.snapLen = dv.getUint32(PCAP_HDR.SNAPLEN, this.le);
    this.capLimit = this.snapLen > 0 && this.snapLen < MAX_CAPLEN ? this.snapLen : MAX_CAPLEN;
    const ltField = dv.getUint32(PCAP_HDR.LINKTYPE, this.le);
    // low 26 bits: link type; 0x04000000: FCS length present, in 16-bit words in the top 4 bits (libpcap)
    const linkType = ltField & 0x03ffffff;
    const fcsLen = ltField & 0x04000000 ? (ltField >>> 28) * 2 : -1;
    if (linkType !== LINKTYPE_ETHERNET && !this.anyLinkType) {
      const e = new UnsupportedLinkTypeError(
        file,
        PCAP_HDR.LINKTYPE,
        0,
        linkType,
        unsupportedLinkTypeMessage(linkType),
      );
      e.message = `${file}: ${unsupportedLinkTypeMessage(linkType)}`;
      throw e;
    }
    this.linkType = linkType;
    const iface = new CaptureInterface(
      0,
      0,
      0,
      linkType,
      this.snapLen,
      '',
      '',
      this.nanosecond ? 9 : 6,
      0,
      fcsLen,
    );
    this.interfaces = [iface];
    this.allInterfaces = this.interfaces;
    this.pos = PCAP_FILE_HEADER_LEN;
  }

  /**
   * The common case inline, small enough for V8 to inline into the caller's
   * loop: a whole record already buffered with a valid length. Anything else
   * (refill, end of file, errors) is `nextSlow`.
   */
  next(): boolean {
    const p = this.pos;
    const avail = this.end - p;
    if (avail >= PCAP_RECORD_HEADER_LEN) {
      const dv = this.dv;
      const le = this.le;
      const capLen = dv.getUint32(p + PCAP_REC.CAPLEN, le);
      const total = PCAP_RECORD_HEADER_LEN + capLen;
      if (capLen <= this.capLimit && avail >= total) {
        this.tsSec = dv.getUint32(p, le);
        this.tsNsec = dv.getUint32(p + PCAP_REC.TS_FRAC, le) * this.fracNs;
        this.origLen = dv.getUint32(p + PCAP_REC.ORIGLEN, le);
        this.capLen = capLen;
        this.off = p + PCAP_RECORD_HEADER_LEN;
        this.recordOffset = this.base + p;
        this.pos = p + total;
        this.frameNo++;
        return true;
      }
    }
    return this.nextSlow();
  }

  /** `next` for a record not wholly buffered, the end of the file, or a bad captured length. */
  private nextSlow(): boolean {
    if (this.end - this.pos < PCAP_RECORD_HEADER_LEN && !this.fill(PCAP_RECORD_HEADER_LEN)) {
      if (this.end === this.pos) return false;
      this.fail(
        this.pos,
        `file ends inside a record header (${this.end - this.pos} of ${PCAP_RECORD_HEADER_LEN} bytes)`,
      );
    }
    const capLen = this.dv.getUint32(this.pos + PCAP_REC.CAPLEN, this.le);
    if (capLen > this.capLimit) this.badCapLen(this.pos, capLen);
    if (!this.fill(PCAP_RECORD_HEADER_LEN + capLen)) {
      this.fail(
        this.pos,
        `record cut short: captured length ${capLen}, but the file ends ${this.end - this.pos - PCAP_RECORD_HEADER_LEN} bytes into the frame`,
      );
    }
    // the record is buffered now: the fast path takes it
    return this.next();
  }

  private badCapLen(p: number, capLen: number): never {
    if (capLen > MAX_CAPLEN)
      this.fail(p, `captured length ${capLen} is over the 256 KiB limit (${MAX_CAPLEN})`);
    this.fail(p, `captured length ${capLen} is over the file's snapshot length ${this.snapLen}`);
  }
}
