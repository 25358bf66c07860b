/**
 * The vendored real-world corpus (corpus/README.md): tcpdump's regression
 * captures, and the files of regressions/ that ever made a test fail.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

/** Capture files (pcap, pcapng) in a directory, sorted. */
export function captureFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
