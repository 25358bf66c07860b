import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureFixtures, type CaptureFixture } from '../../fixtures/capture/make.js';
import { CaptureFormatError, UnsupportedLinkTypeError } from '../../src/capture/errors.js';
import { openCapture } from '../../src/capture/reader.js';
import { FIXTURES, readAll, type ReadResult } from './helpers.js';

const fixtures = captureFixtures();

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function checkFrames(f: CaptureFixture, got: ReadResult, count: number): void {
  expect(got.frames.length, 'frames delivered').to.equal(count);
  for (let i = 0; i < count; i++) {
    const e = f.frames[i];
    const g = got.frames[i];
    const at = `${f.name} frame ${i}`;
    expect(g.hex, `${at} bytes`).to.equal(hex(e.bytes));
    expect(g.capLen, `${at} capLen`).to.equal(e.bytes.length);
    expect(g.origLen, `${at} origLen`).to.equal(e.origLen);
    expect([g.tsSec, g.tsNsec], `${at} timestamp`).to.deep.equal([e.tsSec, e.tsNsec]);
    expect([g.ifaceIndex, g.ifaceId, g.linkType], `${at} interface`).to.deep.equal([
      e.ifaceIndex,
      e.ifaceId,
      e.linkType,
    ]);
    expect(g.frameNo, `${at} frameNo`).to.equal(i);
    expect(g.recordOffset, `${at} recordOffset`).to.equal(e.recordOffset);
  }
}

function checkError(f: CaptureFixture, got: ReadResult): void {
  const e = f.error!;
  expect(got.error, `${f.name}: an error`).to.be.instanceOf(CaptureFormatError);
  const err = got.error as CaptureFormatError;
  expect(err.name).to.equal(e.kind);
  if (e.kind === 'UnsupportedLinkTypeError') expect(err).to.be.instanceOf(UnsupportedLinkTypeError);
  else expect(err).not.to.be.instanceOf(UnsupportedLinkTypeError);
  expect(err.message).to.include(e.says);
  expect(err.message.startsWith(err.file)).to.equal(true);
  expect([err.byteOffset, err.frameNo], `${f.name}: offset, frame`).to.deep.equal([e.byteOffset, e.frameNo]);
  expect(got.errorAtOpen, `${f.name}: raised by openCapture`).to.equal(e.atOpen);
  if (e.kind === 'CaptureFormatError') {
    // the message names the offset and the frame (1-based, as Wireshark numbers them)
    expect(err.message).to.include(`byte offset ${e.byteOffset}, frame ${e.frameNo + 1}:`);
  }
}

describe('capture fixtures', () => {
  it('the committed fixture files are exactly what fixtures/capture/make.ts generates', () => {
    for (const f of fixtures) {
      const onDisk = readFileSync(path.join(FIXTURES, f.name));
      expect(hex(onDisk), f.name).to.equal(hex(f.bytes));
    }
  });

  for (const f of fixtures) {
    const file = path.join(FIXTURES, f.name);
    if (!f.error) {
      it(`reads ${f.name}: every frame, its bytes, lengths, timestamp and interface`, () => {
        const got = readAll(file);
        expect(got.error).to.equal(null);
        checkFrames(f, got, f.frames.length);
      });
    } else if (f.needsAnyLinkType) {
      it(`refuses ${f.name} naming its link type, after the Ethernet frames before it`, () => {
        const got = readAll(file);
        checkFrames(f, got, f.error!.frameNo);
        checkError(f, got);
      });
      it(`reads every frame of ${f.name} with anyLinkType, reporting each frame's link type`, () => {
        const got = readAll(file, { anyLinkType: true });
        expect(got.error).to.equal(null);
        checkFrames(f, got, f.frames.length);
      });
    } else {
      it(`rejects ${f.name} at byte ${f.error.byteOffset} (frame ${f.error.frameNo}) after delivering the frames before`, () => {
        const got = readAll(file);
        checkFrames(f, got, f.error!.frameNo);
        checkError(f, got);
      });
    }
  }

  it('reads every fixture identically whatever the buffer size (records straddling refills and growth)', () => {
    for (const f of fixtures) {
      const file = path.join(FIXTURES, f.name);
      const ref = readAll(file, { anyLinkType: true });
      for (const bufferSize of [1, 24, 25, 31, 64, 100, 333, 1024, 4096]) {
        const got = readAll(file, { anyLinkType: true, bufferSize });
        expect(got.frames, `${f.name} with a ${bufferSize}-byte buffer`).to.deep.equal(ref.frames);
        expect(String(got.error), `${f.name} with a ${bufferSize}-byte buffer`).to.equal(String(ref.error));
      }
    }
  });

  it('describes the interfaces of pcap and of every pcapng section', () => {
    for (const f of fixtures.filter((x) => !x.error || x.needsAnyLinkType)) {
      const r = openCapture(path.join(FIXTURES, f.name), { anyLinkType: true });
      try {
        while (r.next());
        expect(r.format, f.name).to.equal(f.format);
        expect(r.nanosecond, f.name).to.equal(f.nanosecond);
        const got = r.allInterfaces.map((i) => ({
          id: i.id,
          section: i.section,
          linkType: i.linkType,
          snapLen: i.snapLen,
          name: i.name,
          tsResol: i.tsResol,
          tsOffsetSec: i.tsOffsetSec,
        }));
        expect(got, f.name).to.deep.equal(f.interfaces);
        r.allInterfaces.forEach((i, n) => expect(i.index).to.equal(n));
      } finally {
        r.close();
      }
    }
  });

  it('knows the interfaces of a pcapng before the first frame, and those of the current section after', () => {
    const r = openCapture(path.join(FIXTURES, 'multi-section.pcapng'));
    try {
      expect(r.interfaces.map((i) => i.name)).to.deep.equal(['eth0', 'eth1', 'eth2', 'eth3', 'eth4']);
      expect(r.interfaces.map((i) => i.tsResolNs)).to.deep.equal([1000, 1, 1e9 / 2 ** 20, 0.001, 1e6]);
      while (r.next()) {
        expect(r.interfaces[r.ifaceId]).to.equal(r.allInterfaces[r.ifaceIndex]);
        expect(r.interfaces[r.ifaceId].section).to.equal(r.allInterfaces[r.allInterfaces.length - 1].section);
      }
      expect(r.interfaces.map((i) => i.name)).to.deep.equal(['wan0', 'tun0', '']);
      expect(r.allInterfaces).to.have.length(8);
    } finally {
      r.close();
    }
  });
});
