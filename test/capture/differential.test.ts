/**
 * Differential tests against independent readers: the `pcap-parser` npm
 * package for classic pcap (our fixtures, the oracle scenarios' captures and,
 * where present, tcpdump's regression-test corpus), and Wireshark's
 * editcap/mergecap for pcapng (files made from our fixtures, and the corpus
 * pcapng files converted back to pcap).
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CaptureFormatError, UnsupportedLinkTypeError } from '../../src/capture/errors.js';
import { MAX_CAPLEN } from '../../src/capture/reader.js';
import {
  FIXTURES,
  pcapParserFrames,
  readAll,
  REPO,
  requireTool,
  run,
  tmpDir,
  type Frame,
  type ParserFrame,
} from './helpers.js';

const CORPUS = '/work/shared/corpus/tcpdump';
const ORACLE = path.join(REPO, 'test/oracle/scenarios');

function walk(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, ext));
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out.sort();
}

function isClassicPcap(file: string): boolean {
  const head = readFileSync(file).subarray(0, 4).toString('hex');
  return ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1'].includes(head);
}

function sameAsParser(ours: Frame, theirs: ParserFrame, ns: boolean, at: string): void {
  expect(ours.hex, `${at} bytes`).to.equal(theirs.hex);
  expect([ours.capLen, ours.origLen], `${at} lengths`).to.deep.equal([theirs.capLen, theirs.origLen]);
  expect([ours.tsSec, ours.tsNsec], `${at} timestamp`).to.deep.equal([
    theirs.tsSec,
    ns ? theirs.frac : theirs.frac * 1000,
  ]);
}

/** Outcome of comparing one file: 'same', or why we stopped earlier than pcap-parser (a checked reason). */
async function compareWithParser(file: string): Promise<string> {
  const bytes = readFileSync(file);
  const le = bytes.readUInt32LE(0) === 0xa1b2c3d4 || bytes.readUInt32LE(0) === 0xa1b23c4d;
  const ns = (le ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0)) === 0xa1b23c4d;
  const theirs = await pcapParserFrames(file);
  // read with anyLinkType so the other link types are compared too
  const ours = readAll(file, { anyLinkType: true });
  const name = path.basename(file);
  if (!ours.error) {
    expect(ours.frames.length, `${name}: frame count`).to.equal(theirs.frames.length);
    ours.frames.forEach((f, i) => sameAsParser(f, theirs.frames[i], ns, `${name} frame ${i}`));
    return 'same';
  }
  // we stopped early: every frame before the error is pcap-parser's, and the error is justified
  const err = ours.error as CaptureFormatError;
  expect(err, `${name}: ${String(err)}`).to.be.instanceOf(CaptureFormatError);
  if (ours.errorAtOpen) {
    // the file header: pcap-parser reads any version but 2.x's neighbours, and nothing from a cut header
    if (bytes.length < 24) {
      expect(err.reason).to.match(/file header cut short/);
      expect(theirs.frames).to.deep.equal([]);
      return 'file header cut short';
    }
    expect(err.reason).to.match(/unsupported pcap version/);
    expect(le ? bytes.readUInt16LE(4) : bytes.readUInt16BE(4)).to.not.equal(2);
    return 'unsupported version';
  }
  const k = ours.frames.length;
  expect(err.frameNo).to.equal(k);
  expect(theirs.frames.length, `${name}: pcap-parser frames`).to.be.at.least(k);
  ours.frames.forEach((f, i) => sameAsParser(f, theirs.frames[i], ns, `${name} frame ${i}`));
  const at = 24 + theirs.frames.slice(0, k).reduce((s, f) => s + 16 + f.capLen, 0);
  expect(err.byteOffset, `${name}: error offset`).to.equal(at);
  const rd = (o: number) => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  if (/captured length \d+ is over/.test(err.reason)) {
    const snap = rd(16);
    const limit = snap > 0 && snap < MAX_CAPLEN ? snap : MAX_CAPLEN;
    expect(rd(at + 8), `${name}: captured length at ${at}`).to.be.greaterThan(limit);
    return 'caplen over snaplen / 256 KiB';
  }
  // otherwise the file ends inside that record: pcap-parser silently drops it
  expect(err.reason).to.match(/cut short|ends inside/);
  expect(theirs.frames.length, `${name}: pcap-parser frames`).to.equal(k);
  const need = at + 16 + (bytes.length >= at + 16 ? rd(at + 8) : 0);
  expect(bytes.length, `${name}: file size`).to.be.lessThan(need);
  return 'file ends inside a record';
}

/** Our frames reduced to what a nanosecond pcap holds (seconds wrap at 2^32). */
function asNsPcap(
  frames: Frame[],
): { hex: string; capLen: number; origLen: number; tsSec: number; frac: number }[] {
  return frames.map((f) => ({
    hex: f.hex,
    capLen: f.capLen,
    origLen: f.origLen,
    tsSec: f.tsSec % 2 ** 32,
    frac: f.tsNsec,
  }));
}

describe('capture reader against other readers', () => {
  describe('pcap-parser (classic pcap)', () => {
    it('our fixtures: the same frames, or an error justified by the file after the same frames', async () => {
      const files = walk(FIXTURES, '.pcap').filter(isClassicPcap);
      expect(files.length).to.be.at.least(10);
      for (const f of files) await compareWithParser(f);
    });

    it('the oracle scenarios: every input and expected capture gives the same frames', async () => {
      const files = walk(ORACLE, '.pcap');
      expect(files.length, 'oracle pcaps').to.be.at.least(50);
      for (const f of files) expect(await compareWithParser(f), f).to.equal('same');
    });

    it("tcpdump's regression corpus: the same frames, or an error justified by the file", async function () {
      if (!existsSync(CORPUS)) {
        console.log(`      (skipped: ${CORPUS} is not present on this machine)`);
        this.skip();
      }
      const files = readdirSync(CORPUS)
        .map((f) => path.join(CORPUS, f))
        .filter(isClassicPcap);
      const outcomes = new Map<string, number>();
      for (const f of files) {
        const o = await compareWithParser(f);
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }
      if (process.env.IPVS_SIM_VERBOSE) console.log(outcomes);
      expect(files.length).to.be.at.least(700);
      expect(outcomes.get('same') ?? 0).to.be.at.least(files.length * 0.8);
    });

    it('refuses a non-Ethernet corpus capture with the link type named, never a crash', function () {
      if (!existsSync(CORPUS)) this.skip();
      const files = readdirSync(CORPUS)
        .map((f) => path.join(CORPUS, f))
        .filter(isClassicPcap);
      let refused = 0;
      for (const f of files) {
        const got = readAll(f);
        if (got.error instanceof UnsupportedLinkTypeError) {
          refused++;
          expect(got.errorAtOpen).to.equal(true);
          expect(got.error.message).to.match(
            /: link type \d+( \([A-Z0-9_]+\))? is not supported: ipvs-sim reads Ethernet/,
          );
        } else if (got.error) {
          expect(got.error).to.be.instanceOf(CaptureFormatError);
        }
      }
      expect(refused).to.be.at.least(100);
    });
  });

  describe('editcap / mergecap (pcapng)', () => {
    let dir: string;
    let cleanup: () => void = () => {};
    before(function () {
      requireTool(this, 'editcap');
      ({ dir, cleanup } = tmpDir('editcap'));
    });
    after(() => cleanup());

    it('reads `editcap -F pcapng` copies of every good pcap fixture with the same frames and timestamps', () => {
      const files = walk(FIXTURES, '.pcap').filter((f) => !f.includes('malformed'));
      for (const f of files) {
        const out = path.join(dir, path.basename(f) + 'ng');
        run('editcap', ['-F', 'pcapng', f, out]);
        const a = readAll(f, { anyLinkType: true });
        const b = readAll(out, { anyLinkType: true });
        expect(b.error, out).to.equal(null);
        const strip = (x: Frame[]) => x.map(({ recordOffset: _r, ...rest }) => rest);
        expect(strip(b.frames), path.basename(f)).to.deep.equal(strip(a.frames));
        expect(readFileSync(out).readUInt32BE(0), 'a pcapng file').to.equal(0x0a0d0d0a);
      }
    });

    it('reads `editcap -F pcapng` copies of the oracle captures with the same frames and timestamps', () => {
      const files = walk(ORACLE, '.pcap').filter((_, i) => i % 4 === 0);
      for (const f of files) {
        const out = path.join(dir, 'oracle.pcapng');
        run('editcap', ['-F', 'pcapng', f, out]);
        const a = readAll(f);
        const b = readAll(out);
        expect(b.error, f).to.equal(null);
        expect(
          b.frames.map((x) => [x.hex, x.origLen, x.tsSec, x.tsNsec]),
          f,
        ).to.deep.equal(a.frames.map((x) => [x.hex, x.origLen, x.tsSec, x.tsNsec]));
      }
    });

    it('reads a `mergecap -F pcapng` of a µs and a ns capture: two interfaces, every frame of both', () => {
      const a = path.join(FIXTURES, 'le-us.pcap');
      const b = path.join(FIXTURES, 'be-ns.pcap');
      const out = path.join(dir, 'merged.pcapng');
      run('mergecap', ['-F', 'pcapng', '-w', out, a, b]);
      const got = readAll(out);
      expect(got.error).to.equal(null);
      const key = (x: Frame) => `${x.tsSec}.${String(x.tsNsec).padStart(9, '0')} ${x.hex}`;
      const want = [...readAll(a).frames, ...readAll(b).frames].map(key).sort();
      expect(got.frames.map(key).sort()).to.deep.equal(want);
      expect(new Set(got.frames.map((f) => f.ifaceId)).size).to.equal(2);
    });

    it("tcpdump's pcapng corpus: the frames match `editcap -F nsecpcap` of the same file read by pcap-parser", async function () {
      if (!existsSync(CORPUS)) this.skip();
      const files = readdirSync(CORPUS)
        .filter((f) => f.endsWith('.pcapng'))
        .map((f) => path.join(CORPUS, f));
      expect(files.length).to.be.at.least(40);
      for (const f of files) {
        const ours = readAll(f, { anyLinkType: true });
        expect(ours.error, f).to.equal(null);
        const out = path.join(dir, 'corpus.pcap');
        run('editcap', ['-F', 'nsecpcap', f, out]);
        const theirs = await pcapParserFrames(out);
        expect(asNsPcap(ours.frames), path.basename(f)).to.deep.equal(theirs.frames);
      }
    });
  });
});
