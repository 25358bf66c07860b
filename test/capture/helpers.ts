/**
 * Helpers for the capture tests: read a whole capture into plain objects,
 * run the reference readers (the `pcap-parser` npm package, tshark/editcap
 * when installed), temporary directories.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCapture, type ReaderOptions } from '../../src/capture/reader.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'fixtures/capture');

/** A frame as plain data (for comparisons). */
export interface Frame {
  hex: string;
  capLen: number;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  ifaceIndex: number;
  ifaceId: number;
  linkType: number;
  frameNo: number;
  recordOffset: number;
}

export interface ReadResult {
  frames: Frame[];
  /** The error that ended the reading (openCapture's or next()'s), or null at a clean end of file. */
  error: unknown;
  /** Whether the error came from openCapture. */
  errorAtOpen: boolean;
}

/** Reads every frame of `file`, catching the error that stops it. */
export function readAll(file: string, opts: ReaderOptions = {}): ReadResult {
  const frames: Frame[] = [];
  let r;
  try {
    r = openCapture(file, opts);
  } catch (e) {
    return { frames, error: e, errorAtOpen: true };
  }
  try {
    while (r.next()) {
      frames.push({
        hex: Buffer.from(r.buf.buffer, r.buf.byteOffset + r.off, r.capLen).toString('hex'),
        capLen: r.capLen,
        origLen: r.origLen,
        tsSec: r.tsSec,
        tsNsec: r.tsNsec,
        ifaceIndex: r.ifaceIndex,
        ifaceId: r.ifaceId,
        linkType: r.linkType,
        frameNo: r.frameNo,
        recordOffset: r.recordOffset,
      });
    }
    return { frames, error: null, errorAtOpen: false };
  } catch (e) {
    return { frames, error: e, errorAtOpen: false };
  } finally {
    r.close();
  }
}

export function tmpDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ipvs-capture-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// ------------------------------------------------------------ pcap-parser

interface PcapParserPacket {
  header: {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  };
  data: Buffer;
}
interface PcapParserEmitter {
  on(ev: 'globalHeader', cb: (h: { snapshotLength: number; linkLayerType: number }) => void): this;
  on(ev: 'packet', cb: (p: PcapParserPacket) => void): this;
  on(ev: 'end', cb: () => void): this;
  on(ev: 'error', cb: (e: Error) => void): this;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as {
  parse(path: string): PcapParserEmitter;
};

export interface ParserFrame {
  hex: string;
  tsSec: number;
  /** The raw fraction field (µs or ns as the magic says). */
  frac: number;
  capLen: number;
  origLen: number;
}

/**
 * Frames of a classic pcap file as `pcap-parser` yields them. pcap-parser
 * knows only the µs magic: for a ns file it reads a copy with the magic
 * swapped (the records are laid out alike, the fraction is the raw field).
 */
export async function pcapParserFrames(
  file: string,
): Promise<{ frames: ParserFrame[]; error: Error | null }> {
  let input = file;
  let cleanup = (): void => {};
  const head = readFileSync(file).subarray(0, 4).toString('hex');
  if (head === 'a1b23c4d' || head === '4d3cb2a1') {
    const t = tmpDir('pp');
    const copy = readFileSync(file);
    copy.write(head === 'a1b23c4d' ? 'a1b2c3d4' : 'd4c3b2a1', 0, 'hex');
    input = path.join(t.dir, 'copy.pcap');
    writeFileSync(input, copy);
    cleanup = t.cleanup;
  }
  try {
    return await new Promise((resolve) => {
      const frames: ParserFrame[] = [];
      let error: Error | null = null;
      const p = pcapParser.parse(input);
      p.on('packet', (pk) =>
        frames.push({
          hex: pk.data.toString('hex'),
          tsSec: pk.header.timestampSeconds,
          frac: pk.header.timestampMicroseconds,
          capLen: pk.header.capturedLength,
          origLen: pk.header.originalLength,
        }),
      );
      p.on('error', (e) => (error = e));
      p.on('end', () => resolve({ frames, error }));
    });
  } finally {
    cleanup();
  }
}

// ------------------------------------------------------------ tshark / editcap

const toolCache = new Map<string, boolean>();

/** Whether a command-line tool runs (`tool --version`). */
export function hasTool(tool: string): boolean {
  let ok = toolCache.get(tool);
  if (ok === undefined) {
    const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    ok = r.status === 0;
    toolCache.set(tool, ok);
  }
  return ok;
}

/** In a mocha hook/test: skip (with a message saying why) when `tool` is not installed. */
export function requireTool(ctx: Mocha.Context, tool: string): void {
  if (!hasTool(tool)) {
    console.log(
      `      (skipped: ${tool} is not installed here; install Debian's tshark package to run it — CI does)`,
    );
    ctx.skip();
  }
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface TsharkFrame {
  len: number;
  capLen: number;
  /** frame.time_epoch as printed: `sec.nnnnnnnnn` */
  time: string;
  ifaceName: string;
  hex: string;
}

/** Frames of `file` as tshark reads them (lengths, time, interface name, bytes): one `tshark -T json -x` run. */
export function tsharkFrames(file: string): TsharkFrame[] {
  const out = run('tshark', ['-n', '-r', file, '-T', 'json', '-x', '-j', 'frame frame.interface_id']);
  type Layers = {
    frame_raw: [string, ...unknown[]];
    frame: Record<string, string | Record<string, string>>;
  };
  const packets = JSON.parse(out) as { _source: { layers: Layers } }[];
  return packets.map((p) => {
    const fr = p._source.layers.frame;
    const tree = fr['frame.interface_id_tree'];
    return {
      len: Number(fr['frame.len']),
      capLen: Number(fr['frame.cap_len']),
      time: String(fr['frame.time_epoch']),
      ifaceName: typeof tree === 'object' ? (tree['frame.interface_name'] ?? '') : '',
      hex: p._source.layers.frame_raw[0],
    };
  });
}
