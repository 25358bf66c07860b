/**
 * The capture layer's error types. They are raised for bad *files* (never per
 * packet on a good file): the CLI prints their one-line message without a
 * stack (exit status 4 for input, 5 for output, see src/cli/errors.ts).
 */

/** One-line description of an errno code, for messages. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  EBADF: 'bad file descriptor',
  EPIPE: 'broken pipe',
};

/** `code` and a readable cause of a Node fs error (or of anything thrown). */
export function describeFsError(e: unknown): { code: string; cause: string } {
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '';
  if (code && ERRNO_TEXT[code]) return { code, cause: `${ERRNO_TEXT[code]} (${code})` };
  const msg = e instanceof Error ? e.message : String(e);
  return { code, cause: msg };
}

/**
 * A malformed input capture. `byteOffset` is where the bad header, block or
 * record starts in the file; `frameNo` is the 0-based number of the frame
 * being read when the error was found (= the number of frames already
 * delivered). The message names both, the frame as Wireshark numbers it
 * (1-based): `in.pcap: byte offset 1234, frame 18: record cut short: ...`.
 */
export class CaptureFormatError extends Error {
  readonly file: string;
  readonly byteOffset: number;
  readonly frameNo: number;
  /** The message without the file / offset / frame prefix. */
  readonly reason: string;

  constructor(file: string, byteOffset: number, frameNo: number, reason: string) {
    super(`${file}: byte offset ${byteOffset}, frame ${frameNo + 1}: ${reason}`);
    this.name = 'CaptureFormatError';
    this.file = file;
    this.byteOffset = byteOffset;
    this.frameNo = frameNo;
    this.reason = reason;
  }
}

/**
 * A well-formed capture whose link type ipvs-sim does not take (everything but
 * Ethernet, unless the reader was opened with `anyLinkType`). For pcap it is
 * raised by openCapture (the link type is in the file header); for pcapng by
 * the `next()` that reaches the first frame of a non-Ethernet interface.
 */
export class UnsupportedLinkTypeError extends CaptureFormatError {
  readonly linkType: number;

  constructor(file: string, byteOffset: number, frameNo: number, linkType: number, reason: string) {
    super(file, byteOffset, frameNo, reason);
    this.name = 'UnsupportedLinkTypeError';
    this.linkType = linkType;
  }
}

/** An input capture that cannot be opened or read (missing, permission, I/O error). */
export class CaptureReadError extends Error {
  readonly file: string;
  /** errno code (`ENOENT`, `EACCES`, ...) or '' */
  readonly code: string;

  constructor(file: string, cause: unknown) {
    const d = describeFsError(cause);
    super(`cannot read capture ${file}: ${d.cause}`);
    this.name = 'CaptureReadError';
    this.file = file;
    this.code = d.code;
  }
}

/** An output capture that cannot be created or written (permission, disk full, missing directory). */
export class CaptureWriteError extends Error {
  readonly file: string;
  /** errno code (`ENOSPC`, `EACCES`, ...) or '' */
  readonly code: string;

  constructor(file: string, cause: unknown) {
    const d = describeFsError(cause);
    super(`cannot write capture ${file}: ${d.cause}`);
    this.name = 'CaptureWriteError';
    this.file = file;
    this.code = d.code;
  }
}
