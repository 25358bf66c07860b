/**
 * Running `ipvs-sim` for the robustness tests: in this process (fast; output
 * captured) or as a child process (signals, resident memory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ENTRY = path.join(ROOT, 'test/robustness/cli-entry.ts');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `ipvs-sim ARGS` in this process, capturing stdout and stderr. */
export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  const savedCode = process.exitCode;
  process.stdout.write = ((s: string | Uint8Array): boolean => {
    out.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array): boolean => {
    err.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  let status: number;
  try {
    process.exitCode = undefined;
    status = await main(args);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = savedCode;
  }
  return { status, stdout: out.join(''), stderr: err.join('') };
}

/** Starts `ipvs-sim ARGS` as a child process (from the sources, through tsx). */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, CI: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Waits for a child to end; returns its status (128 + signal number when a signal killed it) and output. */
export function finished(child: ChildProcess): Promise<CliResult & { signal: string | null }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        status: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

/** Runs `ipvs-sim ARGS` as a child process to the end. */
export function runChild(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult & { signal: string | null }> {
  return finished(spawnCli(args, env));
}

/** True when a text holds a JavaScript stack trace. */
export function hasStack(text: string): boolean {
  return /\n\s+at .+(\(|:\d+:\d+)/.test(text);
}
