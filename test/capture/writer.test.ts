import { expect } from 'chai';
import fc from 'fast-check';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CaptureWriteError } from '../../src/capture/errors.js';
import { openCapture } from '../../src/capture/reader.js';
import { formatTs } from '../../src/capture/timestamp.js';
import {
  createPcapngWriter,
  createPcapWriter,
  openOutput,
  PcapngWriter,
  PcapWriter,
  sharedCaptureBuffers,
  type CaptureWriter,
} from '../../src/capture/writer.js';
import { FIXTURES, readAll, requireTool, tmpDir, tsharkFrames } from './helpers.js';

interface In {
  iface: number;
  bytes: Uint8Array;
  origLen: number;
  sec: number;
  nsec: number;
}

function writeAll(w: CaptureWriter, frames: In[]): void {
  for (const f of frames) {
    // write from the middle of a larger buffer, as the replay does from the reader's buffer
    const big = new Uint8Array(f.bytes.length + 10);
    big.set(f.bytes, 7);
    w.write(f.iface, big, 7, f.bytes.length, f.origLen, f.sec, f.nsec);
  }
  w.close();
}

const frameArb = (ifaces: number) =>
  fc.record({
    iface: fc.integer({ min: 0, max: ifaces - 1 }),
    bytes: fc.uint8Array({ minLength: 0, maxLength: 1600 }),
    extra: fc.integer({ min: 0, max: 50 }),
    sec: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    nsec: fc.integer({ min: 0, max: 999999999 }),
  });

/** sharedCaptureBuffers' layout carved from an ordinary Uint8Array (no WebAssembly copy function). */
function plainShared(read: number, write: number, extra: number) {
  const arena = new Uint8Array(read + write + extra);
  return {
    read: arena.subarray(0, read),
    write: arena.subarray(read, read + write),
    extra: arena.subarray(read + write),
  };
}

function toIn(r: { iface: number; bytes: Uint8Array; extra: number; sec: number; nsec: number }): In {
  return { iface: r.iface, bytes: r.bytes, origLen: r.bytes.length + r.extra, sec: r.sec, nsec: r.nsec };
}

function expectRead(file: string, frames: In[], opts: { ns: boolean; ifaces: boolean }): void {
  const got = readAll(file);
  expect(got.error).to.equal(null);
  expect(got.frames.length).to.equal(frames.length);
  got.frames.forEach((g, i) => {
    const f = frames[i];
    expect(g.hex, `frame ${i}`).to.equal(Buffer.from(f.bytes).toString('hex'));
    expect(g.origLen).to.equal(f.origLen);
    expect([g.tsSec, g.tsNsec], `frame ${i} timestamp`).to.deep.equal([
      f.sec,
      opts.ns ? f.nsec : Math.floor(f.nsec / 1000) * 1000,
    ]);
    expect(g.ifaceId).to.equal(opts.ifaces ? f.iface : 0);
  });
}

/** Frames of the pcap fixtures, with their timestamps, as writer input. */
function fixtureFrames(): In[] {
  const out: In[] = [];
  for (const name of ['le-ns.pcap', 'snaplen96.pcap', 'be-two-ifaces.pcapng']) {
    for (const f of readAll(path.join(FIXTURES, name)).frames) {
      out.push({
        iface: out.length % 3,
        bytes: Buffer.from(f.hex, 'hex'),
        origLen: f.origLen,
        sec: f.tsSec,
        nsec: f.tsNsec,
      });
    }
  }
  return out;
}

describe('capture writer', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tmpDir('writer')));
  after(() => cleanup());
  let n = 0;
  const file = (ext: string) => path.join(dir, `out-${n++}${ext}`);

  it('writes pcap (µs and ns) that reads back with identical frames and timestamps (µs truncated)', () => {
    for (const ns of [false, true]) {
      fc.assert(
        fc.property(
          fc.array(frameArb(1), { maxLength: 30 }),
          fc.integer({ min: 64, max: 5000 }),
          (raw, bufferSize) => {
            const frames = raw.map(toIn);
            const f = file('.pcap');
            const w = createPcapWriter(f, { nanosecond: ns, bufferSize });
            writeAll(w, frames);
            expect(w.framesWritten).to.equal(frames.length);
            expect(statSync(f).size).to.equal(w.bytesWritten);
            expectRead(f, frames, { ns, ifaces: false });
            const r = openCapture(f);
            expect([r.format, r.nanosecond, r.interfaces[0].snapLen, r.interfaces[0].linkType]).to.deep.equal(
              ['pcap', ns, 262144, 1],
            );
            r.close();
          },
        ),
        { numRuns: 60 },
      );
    }
  });

  it('writes pcapng with one named interface per IDB and ns timestamps that read back identically', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb(3), { maxLength: 30 }),
        fc.integer({ min: 64, max: 5000 }),
        (raw, bufferSize) => {
          const frames = raw.map(toIn);
          const f = file('.pcapng');
          const w = createPcapngWriter(f, ['client', 'server', 'tun0'], { bufferSize });
          writeAll(w, frames);
          expect(statSync(f).size).to.equal(w.bytesWritten);
          expectRead(f, frames, { ns: true, ifaces: true });
          const r = openCapture(f);
          expect(r.interfaces.map((i) => [i.name, i.tsResol, i.linkType, i.snapLen])).to.deep.equal([
            ['client', 9, 1, 262144],
            ['server', 9, 1, 262144],
            ['tun0', 9, 1, 262144],
          ]);
          r.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes pcapng blocks with zeroed padding and matching trailers, even when the batch buffer held other data', () => {
    const f = file('.pcapng');
    const w = createPcapngWriter(f, ['a'], { bufferSize: 256 });
    for (let i = 0; i < 50; i++) {
      const len = 1 + ((i * 37) % 200);
      w.write(0, new Uint8Array(len).fill(0xee), 0, len, len, i, i);
    }
    w.close();
    const b = readFileSync(f);
    let o = 0;
    let epbs = 0;
    while (o < b.length) {
      const type = b.readUInt32LE(o);
      const len = b.readUInt32LE(o + 4);
      expect(b.readUInt32LE(o + len - 4), `trailer of block at ${o}`).to.equal(len);
      if (type === 6) {
        epbs++;
        const cap = b.readUInt32LE(o + 20);
        for (let i = o + 28 + cap; i < o + len - 4; i++) expect(b[i], `padding byte ${i}`).to.equal(0);
      }
      o += len;
    }
    expect(epbs).to.equal(50);
  });

  it('batches across many 1 MiB chunks without losing or reordering a byte', () => {
    const frames: In[] = [];
    for (let i = 0; i < 4000; i++) {
      const len = 60 + ((i * 331) % 1455);
      frames.push({
        iface: i % 2,
        bytes: new Uint8Array(len).fill(i & 0xff),
        origLen: len,
        sec: 1e9 + i,
        nsec: i,
      });
    }
    for (const f of [file('.pcap'), file('.pcapng')]) {
      const w = openOutput(f, ['a', 'b'], { nanosecond: true });
      writeAll(w, frames);
      expect(statSync(f).size).to.be.greaterThan(3 * 1024 * 1024);
      expectRead(f, frames, { ns: true, ifaces: f.endsWith('.pcapng') });
    }
  });

  it('writes whole pages of the file when its buffer fills, the same bytes as with one big buffer', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb(2), { maxLength: 60 }),
        fc.integer({ min: 64, max: 9000 }),
        (raw, bufferSize) => {
          const frames = raw.map(toIn);
          for (const ext of ['.pcap', '.pcapng']) {
            const big = file(ext);
            const small = file(ext);
            writeAll(openOutput(big, ['a', 'b'], { bufferSize: 1 << 22 }), frames);
            const w = openOutput(small, ['a', 'b'], { bufferSize });
            writeAll(w, frames);
            const bytes = readFileSync(small);
            expect(bytes.equals(readFileSync(big)), `${ext}, ${bufferSize}-byte buffer`).to.equal(true);
            expect(w.bytesWritten).to.equal(bytes.length);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('openOutput picks pcap for a .pcap name (any case) and pcapng otherwise; no names gives one unnamed interface', () => {
    const a = openOutput(file('.pcap'), ['x']);
    const b = openOutput(file('.PCAP'), ['x']);
    const c = openOutput(file('.pcapng'), ['x', 'y']);
    const d = openOutput(file('.cap'), []);
    expect([a, b, c, d].map((w) => w.format)).to.deep.equal(['pcap', 'pcap', 'pcapng', 'pcapng']);
    expect(a).to.be.instanceOf(PcapWriter);
    expect(c).to.be.instanceOf(PcapngWriter);
    expect((d as PcapngWriter).interfaceNames).to.deep.equal(['']);
    for (const w of [a, b, c, d]) w.close();
    const r = openCapture((d as PcapngWriter).file);
    expect(r.interfaces.map((i) => i.name)).to.deep.equal(['']);
    r.close();
  });

  it('close() flushes, is idempotent, and a write after it throws', () => {
    const f = file('.pcap');
    const w = createPcapWriter(f);
    w.write(0, new Uint8Array(60), 0, 60, 60, 1, 2000);
    expect(statSync(f).size, 'batched, not yet written').to.equal(0);
    w.close();
    w.close();
    expect(statSync(f).size).to.equal(24 + 16 + 60);
    expect(() => w.write(0, new Uint8Array(60), 0, 60, 60, 1, 2)).to.throw(/after close/);
    const empty = file('.pcapng');
    createPcapngWriter(empty, ['eth0']).close();
    expect(readAll(empty)).to.deep.include({ frames: [], error: null });
  });

  it('rejects a frame over 256 KiB and an interface index out of range', () => {
    const w = createPcapngWriter(file('.pcapng'), ['a']);
    expect(() => w.write(0, new Uint8Array(262145), 0, 262145, 262145, 0, 0)).to.throw(RangeError);
    expect(() => w.write(1, new Uint8Array(60), 0, 60, 60, 0, 0)).to.throw(RangeError, /interface index 1/);
    w.close();
  });

  it('names the file and the cause when the directory does not exist or the path is a directory', () => {
    const missing = path.join(dir, 'no-such-dir', 'out.pcap');
    expect(() => createPcapWriter(missing))
      .to.throw(CaptureWriteError)
      .with.property('message', `cannot write capture ${missing}: no such file or directory (ENOENT)`);
    const sub = path.join(dir, 'is-a-dir.pcapng');
    mkdirSync(sub);
    expect(() => openOutput(sub, ['x']))
      .to.throw(CaptureWriteError)
      .with.property('message', `cannot write capture ${sub}: is a directory (EISDIR)`);
  });

  it('names the file and the cause when the directory is not writable', function () {
    if (process.getuid?.() === 0) {
      console.log('      (skipped: running as root, permissions do not apply)');
      this.skip();
    }
    const ro = path.join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const f = path.join(ro, 'out.pcap');
    try {
      expect(() => createPcapWriter(f))
        .to.throw(CaptureWriteError)
        .with.property('message', `cannot write capture ${f}: permission denied (EACCES)`);
    } finally {
      chmodSync(ro, 0o700);
    }
  });

  it('reports a full disk (ENOSPC) when flushing, then stays dead: writes rethrow, close() is quiet', function () {
    try {
      statSync('/dev/full');
    } catch {
      this.skip();
    }
    const w = createPcapWriter('/dev/full', { bufferSize: 4096 });
    let err: unknown = null;
    try {
      for (let i = 0; i < 100; i++) w.write(0, new Uint8Array(100), 0, 100, 100, i, 0);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(CaptureWriteError);
    expect((err as CaptureWriteError).message).to.equal(
      'cannot write capture /dev/full: no space left on device (ENOSPC)',
    );
    expect((err as CaptureWriteError).code).to.equal('ENOSPC');
    expect(() => w.write(0, new Uint8Array(10), 0, 10, 10, 0, 0)).to.throw(CaptureWriteError);
    expect(() => w.close()).not.to.throw();
    // the same error when the full buffer is only written by close()
    const w2 = createPcapngWriter('/dev/full', ['x']);
    w2.write(0, new Uint8Array(10), 0, 10, 10, 0, 0);
    expect(() => w2.close()).to.throw(CaptureWriteError, /ENOSPC/);
    expect(() => w2.close()).not.to.throw();
  });

  describe('read by tshark', () => {
    before(function () {
      requireTool(this, 'tshark');
    });

    for (const [ext, label] of [
      ['.pcap', 'pcap µs'],
      ['.ns.pcap', 'pcap ns'],
      ['.pcapng', 'pcapng'],
    ] as const) {
      it(`tshark reads our ${label} file without error, with identical frames, lengths and times`, () => {
        const frames = fixtureFrames();
        const f = file(ext);
        const ns = ext !== '.pcap';
        writeAll(openOutput(f, ['client', 'server', 'tun0'], { nanosecond: ns }), frames);
        const t = tsharkFrames(f);
        expect(t.length).to.equal(frames.length);
        t.forEach((g, i) => {
          const e = frames[i];
          expect(g.hex, `frame ${i} bytes`).to.equal(Buffer.from(e.bytes).toString('hex'));
          expect([g.len, g.capLen], `frame ${i} lengths`).to.deep.equal([e.origLen, e.bytes.length]);
          const nsec = ns ? e.nsec : Math.floor(e.nsec / 1000) * 1000;
          expect(g.time, `frame ${i} time`).to.equal(formatTs(e.sec, nsec));
          if (ext === '.pcapng') expect(g.ifaceName).to.equal(['client', 'server', 'tun0'][e.iface]);
        });
      });
    }
  });

  it('copies frames between views of one ArrayBuffer (shared reader/writer buffers) exactly as from separate buffers', () => {
    for (const src of ['le-us.pcap', 'multi-section.pcapng', 'be-two-ifaces.pcapng']) {
      const outs: Buffer[] = [];
      for (const mode of ['separate', 'arena', 'plain'] as const) {
        const shared = mode !== 'separate';
        // small buffers: many refills and flushes, frames at every alignment; 'arena' copies
        // through the arena's WebAssembly copy, 'plain' (one ordinary ArrayBuffer) with copyWithin
        const s = mode === 'plain' ? plainShared(4096, 2048, 2000) : sharedCaptureBuffers(4096, 2048, 2000);
        const r = openCapture(path.join(FIXTURES, src), shared ? { buffer: s.read } : { bufferSize: 4096 });
        const out = file('.pcapng');
        const w = createPcapngWriter(
          out,
          ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
          shared ? { buffer: s.write } : { bufferSize: 2048 },
        );
        let n = 0;
        while (r.next()) {
          if (shared && n % 3 === 0) {
            // a scratch frame in the same ArrayBuffer, as the replay builds rewritten frames
            s.extra.set(r.buf.subarray(r.off, r.off + r.capLen), 5);
            w.write(r.ifaceIndex, s.extra, 5, r.capLen, r.origLen, r.tsSec, r.tsNsec);
          } else {
            w.write(r.ifaceIndex, r.buf, r.off, r.capLen, r.origLen, r.tsSec, r.tsNsec);
          }
          n++;
        }
        r.close();
        w.close();
        outs.push(readFileSync(out));
      }
      expect(outs[1].equals(outs[0]), `${src}: arena`).to.equal(true);
      expect(outs[2].equals(outs[0]), `${src}: plain ArrayBuffer`).to.equal(true);
    }
  });

  it('refuses caller buffers too small for a file header', () => {
    expect(() => openCapture(path.join(FIXTURES, 'le-us.pcap'), { buffer: new Uint8Array(10) })).to.throw(
      RangeError,
    );
    expect(() => createPcapWriter(file('.pcap'), { buffer: new Uint8Array(10) })).to.throw(RangeError);
  });

  it('copies a capture unchanged: reader → writer gives the same frames (and for pcap µs, the same bytes)', () => {
    const src = path.join(FIXTURES, 'le-us.pcap');
    const out = file('.pcap');
    const r = openCapture(src);
    const w = createPcapWriter(out, { bufferSize: 100 });
    while (r.next()) w.write(r.ifaceId, r.buf, r.off, r.capLen, r.origLen, r.tsSec, r.tsNsec);
    r.close();
    w.close();
    // le-us.pcap has snaplen 65535, we write 262144: otherwise byte-identical
    const a = readFileSync(src);
    const b = readFileSync(out);
    expect(b.length).to.equal(a.length);
    expect(b.subarray(24).equals(a.subarray(24))).to.equal(true);
    expect(b.readUInt32LE(16)).to.equal(262144);
  });
});
