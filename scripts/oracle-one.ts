/**
 * `npx tsx scripts/oracle-one.ts NAME…`: replays oracle scenarios (by name or
 * path) and prints every difference from the kernel's golden outputs.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { listScenarios, runScenario } from '../test/oracle/run.js';

const all = listScenarios();
const names = process.argv.slice(2);
const dirs = names.length
  ? names.map((n) => (existsSync(n) ? n : (all.find((d) => path.basename(d) === n) ?? n)))
  : all;
let bad = 0;
for (const d of dirs) {
  let r;
  try {
    r = await runScenario(d);
  } catch (e) {
    console.log(`ERR  ${path.basename(d)}: ${(e as Error).message}`);
    bad++;
    continue;
  }
  const probs = Object.entries(r.problems).filter(([, p]) => p.length);
  console.log(`${r.ok ? 'OK  ' : 'DIFF'} ${path.basename(d)}`);
  for (const [f, p] of probs) console.log(`   ${f}:\n      ${p.slice(0, 12).join('\n      ')}`);
  if (!r.ok) bad++;
}
console.log(`${dirs.length - bad}/${dirs.length} scenarios identical`);
