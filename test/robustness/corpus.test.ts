/**
 * Real-world captures (corpus/: tcpdump's regression captures, many
 * protocols, link types and malformed packets) and the regression corpus
 * (regressions/*.pcap*) replayed through an LVS-DR and an LVS-NAT director:
 * nothing crashes, every frame read gets a fate, a malformed file stops at
 * its byte offset after every frame before it, and a link type other than
 * Ethernet is the clear "not supported" error. A second pass re-addresses
 * every frame to the director and its VIPs (retarget.ts), so that the
 * frames from the wild reach IPVS instead of being dropped as not for us.
 */
import { expect } from 'chai';
import path from 'node:path';
import { Replay } from '../../src/replay/engine.js';
import { NullSink } from '../../src/ipvs/env.js';
import { openCapture } from '../../src/capture/reader.js';
import { CaptureFormatError, UnsupportedLinkTypeError } from '../../src/capture/errors.js';
import { Fate } from '../../src/ipvs/verdict.js';
import { accountingProblem, makeDirector } from './driver.js';
import { retarget } from './retarget.js';
import { CLIENT_MAC, SETUPS } from './setups.js';
import { CORPUS_DIR, captureFiles } from './corpus.js';
import { REGRESSION_DIR } from './regressions.js';
import { existsSync } from 'node:fs';

const files = [
  ...captureFiles(CORPUS_DIR),
  ...(existsSync(REGRESSION_DIR) ? captureFiles(REGRESSION_DIR) : []),
];

/** Replays one file through a set-up with the replay engine; '' or what went wrong. */
async function replayFile(setupText: string, file: string, tally: Record<string, number>): Promise<string> {
  const r = new Replay({
    setupText,
    setupFile: 'setup',
    inputs: [{ path: file, iface: null }],
    sink: new NullSink(),
  });
  try {
    try {
      r.open();
    } catch (e) {
      if (e instanceof UnsupportedLinkTypeError) {
        tally.unsupported++;
        return /link type \d+.*is not supported: ipvs-sim reads Ethernet/.test(e.message)
          ? ''
          : `unclear: ${e.message}`;
      }
      if (e instanceof CaptureFormatError) {
        tally.badHeader++;
        return '';
      }
      return `open threw ${(e as Error).stack}`;
    }
    let s;
    try {
      s = await r.run();
    } catch (e) {
      return `run threw ${(e as Error).stack}`;
    }
    const f = s.fates;
    if (f.forwarded + f.answered + f.local + f.dropped + f.held !== s.framesIn)
      return `fates ${JSON.stringify(f)} do not sum to ${s.framesIn}`;
    if (f.held !== 0) return `${f.held} frames still held at the end`;
    const p = accountingProblem(r.director);
    if (p) return p;
    if (s.captureError) {
      tally.stopped++;
      if (s.captureError.frameNo !== s.framesIn)
        return `stopped at frame ${s.captureError.frameNo + 1} after ${s.framesIn} frames`;
      if (/link type/.test(s.captureError.message)) {
        tally.unsupported++;
        if (!/is not supported: ipvs-sim reads Ethernet/.test(s.captureError.message))
          return `unclear: ${s.captureError.message}`;
      }
    } else tally.complete++;
    tally.frames += s.framesIn;
    tally.forwarded += f.forwarded;
    return '';
  } finally {
    r.close();
  }
}

/** Feeds every frame of a file, re-addressed to the director, to a fresh director; '' or what went wrong. */
function retargetFile(setupText: string, file: string, tally: Record<string, number>): string {
  let reader;
  try {
    reader = openCapture(file);
  } catch {
    return '';
  }
  const d = makeDirector(setupText);
  try {
    for (let i = 0; ; i++) {
      let more: boolean;
      try {
        more = reader.next();
      } catch (e) {
        if (e instanceof CaptureFormatError) break;
        throw e;
      }
      if (!more) break;
      retarget(reader.buf, reader.off, reader.capLen, CLIENT_MAC);
      d.advance(i);
      try {
        d.receive(0, reader.buf, reader.off, reader.capLen, reader.origLen);
      } catch (e) {
        return `frame ${i + 1} threw ${(e as Error).stack}`;
      }
      if (!(d.env.fate >= Fate.FORWARDED && d.env.fate <= Fate.HELD)) return `frame ${i + 1} has no fate`;
    }
  } finally {
    reader.close();
  }
  tally.frames += d.env.fates.framesIn;
  tally.forwarded += d.env.fates.fates[Fate.FORWARDED];
  tally.ipvs += d.conns.size;
  return accountingProblem(d);
}

describe('robustness: real-world captures', function () {
  this.timeout(300_000);

  it(`the corpus holds the vendored captures (${files.length} files)`, () => {
    expect(files.length).to.be.greaterThan(800);
  });

  for (const s of SETUPS) {
    it(`${s.name}: every capture replays without a crash, every frame accounted for, clear errors`, async () => {
      const tally: Record<string, number> = {
        complete: 0,
        stopped: 0,
        unsupported: 0,
        badHeader: 0,
        frames: 0,
        forwarded: 0,
      };
      const problems: string[] = [];
      for (const f of files) {
        const p = await replayFile(s.text, f, tally);
        if (p) problems.push(`${path.basename(f)}: ${p}`);
      }
      expect(problems.slice(0, 10).join('\n')).to.equal('');
      // the corpus is mostly Ethernet: most files replay to their end
      expect(tally.complete).to.be.greaterThan(files.length / 2);
      expect(tally.unsupported).to.be.greaterThan(100);
      expect(tally.frames).to.be.greaterThan(5000);
    });
  }

  for (const s of SETUPS) {
    it(`${s.name}: every frame re-addressed to the director and its VIPs is handled, IPVS reached`, () => {
      const tally: Record<string, number> = { frames: 0, forwarded: 0, ipvs: 0 };
      const problems: string[] = [];
      for (const f of files) {
        const p = retargetFile(s.text, f, tally);
        if (p) problems.push(`${path.basename(f)}: ${p}`);
      }
      expect(problems.slice(0, 10).join('\n')).to.equal('');
      expect(tally.frames).to.be.greaterThan(5000);
      // some of the wild traffic was taken by IPVS (connection entries left at the end)
      expect(tally.ipvs).to.be.greaterThan(0);
    });
  }
});
