/**
 * `npx tsx scripts/docs.ts [--check] [FILE.md …]`: regenerates the command
 * outputs embedded in docs/ (default: every docs/*.md). A block is
 *
 *     <!-- generated: ipvs-sim lab dr --requests 2 -->
 *     …anything…
 *     <!-- end -->
 *
 * and everything between the two markers is replaced by the command and its
 * output, run in-process from the repository's root (colour off), in a
 * ```text fence. A command may end in `| grep WORD` or `| head -n N`, applied
 * to its output lines as the shell would; trailing blanks are dropped. `--check` writes nothing and exits
 * 1 when a page is out of date (test/explain/docs.test.ts does the same).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { splitWords } from '../src/control/shell.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const BLOCK = /(<!-- generated: (.+?) -->\n)([\s\S]*?)(<!-- end -->)/g;

/** Runs `ipvs-sim …` in-process from the repository root and returns what it printed on stdout. */
export async function runCommand(command: string): Promise<string> {
  const stages = command.split(/\s+\|\s+/);
  const words = splitWords(stages[0]).map((w) => w.text);
  if (words[0] !== 'ipvs-sim') throw new Error(`docs: a generated block runs ipvs-sim, not '${words[0]}'`);
  const cwd = process.cwd();
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const noColour = process.env.NO_COLOR;
  let text = '';
  let errText = '';
  let code: number;
  process.chdir(REPO);
  process.env.NO_COLOR = '1';
  process.stdout.write = ((c: string | Uint8Array) => {
    text += typeof c === 'string' ? c : Buffer.from(c).toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    errText += typeof c === 'string' ? c : Buffer.from(c).toString();
    return true;
  }) as typeof process.stderr.write;
  const exitCode = process.exitCode;
  try {
    code = await main(words.slice(1));
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = exitCode;
    process.chdir(cwd);
    if (noColour === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = noColour;
  }
  if (code !== 0) throw new Error(`docs: '${command}' exited with ${code}: ${errText.trim()}`);
  let lines = text.replace(/\n$/, '').split('\n');
  for (const stage of stages.slice(1)) {
    const w = splitWords(stage).map((x) => x.text);
    if (w[0] === 'grep' && w.length === 2) lines = lines.filter((l) => l.includes(w[1]));
    else if (w[0] === 'head' && w[1] === '-n' && w.length === 3) lines = lines.slice(0, Number(w[2]));
    else throw new Error(`docs: unsupported pipe stage '${stage}' (grep WORD, head -n N)`);
  }
  // trailing blanks (ipvsadm's listing has some) are dropped: Markdown tools strip them
  return lines.map((l) => l.trimEnd()).join('\n');
}

/** The page with every generated block made anew. */
export async function regenerate(text: string): Promise<string> {
  const blocks = [...text.matchAll(BLOCK)];
  let out = '';
  let last = 0;
  for (const m of blocks) {
    const at = m.index as number;
    const command = m[2];
    const body = await runCommand(command);
    out += text.slice(last, at) + m[1] + '\n```text\n$ ' + command + '\n' + body + '\n```\n\n' + m[4];
    last = at + m[0].length;
  }
  return out + text.slice(last);
}

/** docs/*.md files that have generated blocks. */
export function docFiles(): string[] {
  const dir = path.join(REPO, 'docs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(dir, f))
    .filter((f) => readFileSync(f, 'utf8').includes('<!-- generated: '));
}

async function run(): Promise<number> {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const files = args.filter((a) => a !== '--check');
  let stale = 0;
  for (const f of files.length ? files.map((x) => path.resolve(x)) : docFiles()) {
    const text = readFileSync(f, 'utf8');
    const fresh = await regenerate(text);
    if (fresh === text) continue;
    stale++;
    if (check) console.log(`out of date: ${path.relative(REPO, f)}`);
    else {
      writeFileSync(f, fresh);
      console.log(`regenerated ${path.relative(REPO, f)}`);
    }
  }
  return check && stale ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  run().then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
