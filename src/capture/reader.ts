/**
 * `openCapture(path)`: opens a pcap or pcapng file, telling them apart by
 * their magic number, and returns a streaming `CaptureReader` (see
 * source.ts for the frame fields and error contract, pcap.ts / pcapng.ts for
 * what each format accepts).
 *
 * ```ts
 * const r = openCapture('in.pcapng');
 * try {
 *   while (r.next()) handle(r.buf, r.off, r.capLen, r.tsSec, r.tsNsec, r.ifaceIndex);
 * } finally {
 *   r.close();
 * }
 * ```
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { CaptureFormatError, CaptureReadError } from './errors.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapReader } from './pcap.js';
import { PCAPNG_SHB, PcapngReader } from './pcapng.js';
import { DEFAULT_READ_BUFFER, plainBytes, type CaptureReader, type ReaderOptions } from './source.js';

export type { CaptureReader, ReaderOptions } from './source.js';
export { CaptureInterface, DEFAULT_READ_BUFFER, MAX_CAPLEN } from './source.js';

/** Smallest buffer a reader uses, whatever `bufferSize` says (one pcap file header). */
const MIN_BUFFER = 24;

/**
 * Opens `path` for reading. Throws CaptureReadError when the file cannot be
 * opened or read, CaptureFormatError when it is neither pcap nor pcapng or
 * its header is malformed, UnsupportedLinkTypeError for a non-Ethernet pcap
 * (unless `opts.anyLinkType`).
 */
export function openCapture(path: string, opts: ReaderOptions = {}): CaptureReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CaptureReadError(path, e);
  }
  try {
    if (opts.buffer && opts.buffer.length < MIN_BUFFER) {
      throw new RangeError(`a capture reader's buffer needs at least ${MIN_BUFFER} bytes`);
    }
    // a plain Uint8Array (not a Buffer) so frame views stay monomorphic with the wire layer's
    const buf =
      opts.buffer ?? plainBytes(Math.max(MIN_BUFFER, Math.floor(opts.bufferSize ?? DEFAULT_READ_BUFFER)));
    // read until the buffer is full or the file ends (a pipe may return less per read)
    let end = 0;
    let eof = false;
    while (end < buf.length) {
      let r: number;
      try {
        r = readSync(fd, buf, end, buf.length - end, null);
      } catch (e) {
        throw new CaptureReadError(path, e);
      }
      if (r === 0) {
        eof = true;
        break;
      }
      end += r;
      if (end >= 4) break;
    }
    if (end < 4) {
      const what = end === 0 ? 'the file is empty' : `the file has only ${end} bytes`;
      throw new CaptureFormatError(path, 0, 0, `not a pcap or pcapng file: ${what}`);
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const be = dv.getUint32(0, false);
    const le = dv.getUint32(0, true);
    if (be === PCAPNG_SHB) return new PcapngReader(path, fd, buf, end, eof, opts);
    if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) {
      return new PcapReader(path, fd, buf, end, eof, opts);
    }
    const kuznetzov = be === 0xa1b2cd34 || le === 0xa1b2cd34;
    throw new CaptureFormatError(
      path,
      0,
      0,
      kuznetzov
        ? 'modified (Kuznetzov) pcap format is not supported: convert it with editcap -F pcap'
        : `not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`,
    );
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
