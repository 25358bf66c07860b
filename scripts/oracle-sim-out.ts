/**
 * `npx tsx scripts/oracle-sim-out.ts SCENARIO_DIR OUT_DIR`: replays one oracle
 * scenario and keeps what the simulator sent (OUT_DIR/NAME.pcap), to inspect
 * next to the scenario's expected/ captures.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Replay } from '../src/replay/engine.js';

const [dir, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const inputs = readdirSync(dir)
  .filter((f) => f.endsWith('.pcap'))
  .sort()
  .map((f) => ({ iface: f.slice(0, -5), path: path.join(dir, f) }));
const replay = new Replay({
  setupText: readFileSync(path.join(dir, 'setup'), 'utf8'),
  setupFile: path.join(dir, 'setup'),
  inputs,
  outDir: out,
});
replay.open();
await replay.run();
replay.close();
