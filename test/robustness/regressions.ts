/**
 * The regression corpus (test/robustness/regressions/): every input that ever
 * made a robustness property fail is kept there and replayed by
 * regressions.test.ts for ever after.
 *
 * - `*.json`: a frame sequence fed to a director (`FrameCase`), frames in hex;
 * - `*.pcap`, `*.pcapng`: a capture file replayed through the DR and NAT
 *   set-ups like the real-world corpus.
 *
 * When a fuzz property fails, `keepFailure` writes its counterexample there
 * (named by a hash of its content) before the test reports the failure, so
 * the case can be committed with the fix.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InFrame } from './driver.js';

export const REGRESSION_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'regressions');

export interface FrameCase {
  description: string;
  /** Which set-up of setups.ts: 'DR' or 'NAT'. */
  setup: string;
  frames: { hex: string; capLen: number; origLen: number; link: number }[];
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function caseFrames(c: FrameCase): InFrame[] {
  return c.frames.map((f) => ({
    bytes: new Uint8Array(Buffer.from(f.hex, 'hex')),
    capLen: f.capLen,
    origLen: f.origLen,
    link: f.link,
  }));
}

function digest(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 12);
}

/** Saves a failing frame sequence; returns the file written. */
export function keepFrameFailure(description: string, setup: string, frames: readonly InFrame[]): string {
  const c: FrameCase = {
    description,
    setup,
    frames: frames.map((f) => {
      const capLen = Math.min(f.capLen ?? f.bytes.length, f.bytes.length);
      return { hex: hex(f.bytes), capLen, origLen: f.origLen ?? capLen, link: f.link ?? 0 };
    }),
  };
  const text = JSON.stringify(c, null, 2) + '\n';
  if (!existsSync(REGRESSION_DIR)) mkdirSync(REGRESSION_DIR, { recursive: true });
  const file = path.join(REGRESSION_DIR, `frames-${digest(text)}.json`);
  writeFileSync(file, text);
  return file;
}

/** Saves a capture file that made a property fail; returns the file written. */
export function keepCaptureFailure(bytes: Uint8Array, ext: 'pcap' | 'pcapng'): string {
  if (!existsSync(REGRESSION_DIR)) mkdirSync(REGRESSION_DIR, { recursive: true });
  const file = path.join(REGRESSION_DIR, `capture-${digest(bytes)}.${ext}`);
  writeFileSync(file, bytes);
  return file;
}
