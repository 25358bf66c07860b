/**
 * `npm run bench [-- --smoke] [--json FILE] [--only NAME,…]`: runs every suite
 * in bench/suites/ (compiled to dist/bench/suites/), prints a table of medians
 * and ratios, and optionally writes all results as JSON (bench/report.ts turns
 * that file into bench/RESULTS.md).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchSuite } from './lib.js';

interface Args {
  smoke: boolean;
  json: string | null;
  only: string[] | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { smoke: false, json: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--smoke') a.smoke = true;
    else if (x === '--json') a.json = argv[++i] ?? null;
    else if (x === '--only') a.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (x === '--help' || x === '-h') {
      console.log('usage: npm run bench -- [--smoke] [--json FILE] [--only SUITE,...]');
      process.exit(0);
    } else {
      console.error(`bench: unknown option '${x}'`);
      process.exit(2);
    }
  }
  return a;
}

export function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e6) return x.toExponential(3);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.join(here, 'suites');
  const files = (existsSync(dir) ? readdirSync(dir) : []).filter((f) => f.endsWith('.js')).sort();
  const results: BenchResult[] = [];
  let failed = 0;
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { suite?: BenchSuite };
    const suite = mod.suite;
    if (!suite) continue;
    if (args.only && !args.only.includes(suite.name)) continue;
    const tmpDir = mkdtempSync(path.join(os.tmpdir(), `ipvs-bench-${suite.name}-`));
    console.log(`## ${suite.name}: ${suite.description}${args.smoke ? ' (smoke)' : ''}`);
    try {
      await suite.run({
        smoke: args.smoke,
        tmpDir,
        record: (r) => {
          const full = { suite: suite.name, ...r };
          results.push(full);
          const ratio =
            r.ratio !== undefined ? `  ratio ${fmt(r.ratio)}${r.baseline ? ` vs ${r.baseline}` : ''}` : '';
          const target = r.target
            ? `  target ${r.target}${r.met === undefined ? '' : r.met ? ' (met)' : ' (NOT met)'}`
            : '';
          console.log(`  ${r.name}: ${fmt(r.median)} ${r.unit}${ratio}${target}`);
        },
        log: (m) => console.log(`  ${m}`),
      });
    } catch (e) {
      failed++;
      console.error(`bench suite ${suite.name} failed: ${(e as Error).stack ?? e}`);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }
  if (args.json) {
    writeFileSync(
      args.json,
      JSON.stringify(
        { date: new Date().toISOString(), smoke: args.smoke, machine: machineInfo(), results },
        null,
        2,
      ) + '\n',
    );
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
