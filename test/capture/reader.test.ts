import { expect } from 'chai';
import fc from 'fast-check';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Bytes,
  ETH,
  NgBuilder,
  pcapExpected,
  pcapFile,
  type ExpectedFrame,
  type NgIface,
  type PcapRec,
} from '../../fixtures/capture/make.js';
import { CaptureFormatError, CaptureReadError } from '../../src/capture/errors.js';
import { openCapture } from '../../src/capture/reader.js';
import { FIXTURES, readAll, tmpDir, type Frame } from './helpers.js';

function asFrames(exp: ExpectedFrame[]): Omit<Frame, 'frameNo' | 'capLen'>[] {
  return exp.map((e) => ({
    hex: Buffer.from(e.bytes).toString('hex'),
    origLen: e.origLen,
    tsSec: e.tsSec,
    tsNsec: e.tsNsec,
    ifaceIndex: e.ifaceIndex,
    ifaceId: e.ifaceId,
    linkType: e.linkType,
    recordOffset: e.recordOffset,
  }));
}

function strip(frames: Frame[]): Omit<Frame, 'frameNo' | 'capLen'>[] {
  return frames.map((f, i) => {
    expect(f.frameNo).to.equal(i);
    expect(f.capLen * 2).to.equal(f.hex.length);
    const { frameNo: _n, capLen: _c, ...rest } = f;
    return rest;
  });
}

const frameBytes = fc.uint8Array({ minLength: 0, maxLength: 1600 });

describe('capture reader', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tmpDir('reader')));
  after(() => cleanup());

  it('reads random pcap files exactly (byte order, µs/ns, sizes, any buffer size)', () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(
          fc.record({
            bytes: frameBytes,
            extra: fc.integer({ min: 0, max: 100 }),
            sec: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
            frac: fc.integer({ min: 0, max: 999999999 }),
          }),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 5000 }),
        (le, ns, raw, bufferSize) => {
          const recs: PcapRec[] = raw.map((r) => ({
            bytes: r.bytes,
            origLen: r.bytes.length + r.extra,
            sec: r.sec,
            frac: ns ? r.frac : r.frac % 1000000,
          }));
          const file = path.join(dir, `rand-${n++}.pcap`);
          writeFileSync(file, pcapFile(le, ns, 65535, 1, recs).out());
          const got = readAll(file, { bufferSize });
          expect(got.error).to.equal(null);
          expect(strip(got.frames)).to.deep.equal(asFrames(pcapExpected(recs, ns)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads random pcapng files exactly (sections, byte orders, interfaces, 10^-n / 2^-n resolutions, 64-bit timestamps, offsets)', () => {
    const tsresol = fc.oneof(
      fc.constant(-1),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 0, max: 63 }).map((k) => 0x80 | k),
    );
    const iface = fc.record({
      linkType: fc.constant(1),
      snapLen: fc.constant(0),
      name: fc.string({ maxLength: 12 }),
      tsResol: tsresol,
      tsOffset: fc.integer({ min: -1e6, max: 1e6 }),
    });
    const section = fc.record({
      le: fc.boolean(),
      ifaces: fc.array(iface, { minLength: 1, maxLength: 4 }),
      packets: fc.array(
        fc.record({
          which: fc.nat(),
          bytes: frameBytes,
          // seconds below 2^32 at the interface's resolution, any sub-second part
          sec: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          sub: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          kind: fc.constantFrom('epb', 'epb', 'opb', 'spb', 'skip'),
        }),
        { maxLength: 15 },
      ),
    });
    let n = 0;
    fc.assert(
      fc.property(
        fc.array(section, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3000 }),
        (secs, bufferSize) => {
          const b = new NgBuilder(secs[0].le);
          for (const s of secs) {
            b.b.le = s.le;
            b.shb(s.le);
            s.ifaces.forEach((i) => b.idb(i as NgIface));
            for (const p of s.packets) {
              const id = p.which % s.ifaces.length;
              const r = s.ifaces[id].tsResol < 0 ? 6 : s.ifaces[id].tsResol;
              const perSec = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
              let units = BigInt(p.sec) * perSec + (p.sub % perSec);
              if (units >= 1n << 64n) units = p.sub % perSec; // keep it in 64 bits
              if (p.kind === 'spb') b.spb(p.bytes);
              else if (p.kind === 'skip') b.block(0x00000005, (x) => x.u32(id).zeros(12));
              else
                b.epb(id, p.bytes, units, { obsolete: p.kind === 'opb', options: p.bytes.length % 2 === 0 });
            }
          }
          const file = path.join(dir, `rand-${n++}.pcapng`);
          writeFileSync(file, b.b.out());
          const got = readAll(file, { bufferSize });
          expect(got.error).to.equal(null);
          expect(strip(got.frames)).to.deep.equal(asFrames(b.frames));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a file cut at any byte yields every complete frame, then ends cleanly at a record boundary or names the cut record', () => {
    // pcap: record boundaries from the expected offsets
    const cases: { file: string; boundaries: number[]; frames: ExpectedFrame[]; headerEnd: number }[] = [];
    const pcap = readFileSync(path.join(FIXTURES, 'le-us.pcap'));
    const full = readAll(path.join(FIXTURES, 'le-us.pcap')).frames;
    cases.push({
      file: 'le-us.pcap',
      boundaries: [24, ...full.map((f) => f.recordOffset + 16 + f.capLen)],
      frames: [],
      headerEnd: 24,
    });
    const ng = new NgBuilder(true);
    ng.shb();
    ng.idb(ETH('eth0'));
    ng.epb(0, Uint8Array.of(1, 2, 3), 5n);
    ng.block(0x12345678, (x) => x.zeros(8));
    ng.idb(ETH('eth1', 9));
    ng.epb(1, new Uint8Array(70).fill(7), 1700000000000000000n);
    ng.spb(new Uint8Array(61).fill(9));
    const ngBytes = ng.b.out();
    const ngEnd = ngBytes.length;
    for (const [name, bytes, boundaries, headerEnd] of [
      ['le-us.pcap', pcap, cases[0].boundaries, 24],
      ['built.pcapng', ngBytes, [...ng.blocks.slice(1), ngEnd], ng.blocks[1]],
    ] as const) {
      const file = writeTo(dir, `cut-${name}`, bytes);
      const ref = readAll(file).frames;
      // cut the same file shorter and shorter (rewriting a file from scratch is slow on ext4)
      const fd = openSync(file, 'r+');
      for (let k = bytes.length; k >= 0; k--) {
        ftruncateSync(fd, k);
        const got = readAll(file, { bufferSize: 700 });
        const complete = ref.filter((f) => boundaries.some((b) => b > f.recordOffset && b <= k));
        if (k < headerEnd) {
          // the file header / first section header itself is cut (a pcapng's IDB may be cut after it)
          if (name === 'le-us.pcap' || k < ng.blocks[1]) {
            expect(got.errorAtOpen, `${name} cut at ${k}`).to.equal(true);
            expect(got.error, `${name} cut at ${k}`).to.be.instanceOf(CaptureFormatError);
            continue;
          }
        }
        expect(got.frames, `${name} cut at ${k}`).to.deep.equal(
          complete.length ? ref.slice(0, complete.length) : [],
        );
        if (boundaries.includes(k)) {
          expect(got.error, `${name} cut at boundary ${k}`).to.equal(null);
        } else {
          const start = Math.max(...[headerEnd, ...boundaries].filter((b) => b <= k));
          expect(got.error, `${name} cut at ${k}`).to.be.instanceOf(CaptureFormatError);
          const e = got.error as CaptureFormatError;
          expect([e.byteOffset, e.frameNo], `${name} cut at ${k}`).to.deep.equal([start, got.frames.length]);
          expect(e.message).to.match(/cut short|ends inside/);
        }
      }
      closeSync(fd);
    }
  });

  it('keeps its buffer size while streaming a file much larger than the buffer', () => {
    const recs: PcapRec[] = [];
    for (let i = 0; i < 3000; i++) {
      recs.push({
        bytes: new Uint8Array(60 + ((i * 97) % 1455)).fill(i & 0xff),
        origLen: 1514,
        sec: i,
        frac: i,
      });
    }
    const file = writeTo(dir, 'big.pcap', pcapFile(true, false, 65535, 1, recs).out());
    const r = openCapture(file, { bufferSize: 65536 });
    let n = 0;
    let bytes = 0;
    try {
      while (r.next()) {
        expect(r.buf[r.off]).to.equal(n & 0xff);
        bytes += r.capLen;
        n++;
      }
      expect(r.buf.length, 'buffer size after reading').to.equal(65536);
    } finally {
      r.close();
    }
    expect(n).to.equal(3000);
    expect(bytes).to.be.greaterThan(20 * 65536);
  });

  it('reads in page-aligned chunks with the same frames, offsets and errors at any buffer size of a page or more', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1600 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 4096, max: 70000 }),
        fc.integer({ min: 1, max: 5000 }),
        (lens, bufferSize, cutBack) => {
          const recs: PcapRec[] = lens.map((len, i) => ({
            bytes: new Uint8Array(len).fill(i & 0xff),
            origLen: len,
            sec: i,
            frac: i,
          }));
          const bytes = pcapFile(true, false, 65535, 1, recs).out();
          const file = writeTo(dir, 'aligned.pcap', bytes);
          const ref = readAll(file, { bufferSize: 1 << 20 });
          expect(ref.error).to.equal(null);
          expect(readAll(file, { bufferSize })).to.deep.equal(ref);
          // cut short: every complete frame, then the same error at the same offset
          const cut = writeTo(
            dir,
            'aligned-cut.pcap',
            bytes.subarray(0, Math.max(24, bytes.length - cutBack)),
          );
          const a = readAll(cut, { bufferSize: 1 << 20 });
          const b = readAll(cut, { bufferSize });
          expect(b.frames).to.deep.equal(a.frames);
          expect(String(b.error)).to.equal(String(a.error));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('grows its buffer once for a record larger than the buffer', () => {
    const recs: PcapRec[] = [
      { bytes: new Uint8Array(100).fill(1), origLen: 100, sec: 1, frac: 0 },
      { bytes: new Uint8Array(200000).fill(2), origLen: 200000, sec: 2, frac: 0 },
      { bytes: new Uint8Array(100).fill(3), origLen: 100, sec: 3, frac: 0 },
    ];
    const file = writeTo(dir, 'grow.pcap', pcapFile(false, true, 0, 1, recs).out());
    const r = openCapture(file, { bufferSize: 4096 });
    try {
      const lens: number[] = [];
      while (r.next()) {
        lens.push(r.capLen);
        expect(r.buf[r.off + r.capLen - 1]).to.equal(lens.length);
      }
      expect(lens).to.deep.equal([100, 200000, 100]);
      expect(r.buf.length).to.be.within(200016, 2 * 200016);
    } finally {
      r.close();
    }
  });

  it('reads a pcapng with only a section header as an empty capture', () => {
    const b = new NgBuilder(false);
    b.shb();
    const got = readAll(writeTo(dir, 'only-shb.pcapng', b.b.out()));
    expect(got).to.deep.equal({ frames: [], error: null, errorAtOpen: false });
  });

  it('raises CaptureReadError naming the file and cause for a missing file or a directory', () => {
    const missing = path.join(dir, 'no-such.pcap');
    expect(() => openCapture(missing))
      .to.throw(CaptureReadError)
      .with.property('message', `cannot read capture ${missing}: no such file or directory (ENOENT)`);
    const sub = path.join(dir, 'a-directory.pcap');
    mkdirSync(sub);
    expect(() => openCapture(sub))
      .to.throw(CaptureReadError)
      .with.property('message', `cannot read capture ${sub}: is a directory (EISDIR)`);
  });

  it('tells a Kuznetzov (modified) pcap apart from garbage', () => {
    const b = new Bytes(true).u32(0xa1b2cd34).zeros(20).out();
    const got = readAll(writeTo(dir, 'kuz.pcap', b));
    expect((got.error as Error).message).to.include('modified (Kuznetzov) pcap format is not supported');
  });

  it('close() is idempotent and next() returns false after it', () => {
    const r = openCapture(path.join(FIXTURES, 'le-ns.pcap'));
    expect(r.next()).to.equal(true);
    r.close();
    r.close();
    expect(r.next()).to.equal(false);
  });

  it('exposes the pcap FCS length bits and the raw link type', () => {
    const b = new Bytes(true)
      .u32(0xa1b2c3d4)
      .u16(2)
      .u16(4)
      .u32(0)
      .u32(0)
      .u32(65535)
      .u32(0x24000001) // FCS present, 2 words = 4 bytes, Ethernet
      .out();
    const r = openCapture(writeTo(dir, 'fcs.pcap', b));
    try {
      expect(r.interfaces[0].linkType).to.equal(1);
      expect(r.interfaces[0].fcsLen).to.equal(4);
      expect(r.next()).to.equal(false);
    } finally {
      r.close();
    }
  });
});

function writeTo(dir: string, name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
