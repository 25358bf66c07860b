/**
 * Child process of alloc.test.ts: generates a capture for the benchmark
 * director (bench/suites/datapath.ts), replays it twice to let V8 optimise
 * the datapath, then once more under V8's sampling heap profiler, and prints
 * `{"frames": N, "bytes": B}`: the JS heap that warm replay allocated.
 * Arguments: METHOD (dr|nat|tun) FRAMES DIR.
 */
import path from 'node:path';
import { heapBytesAllocated, makeCapture, replayFile, type Method } from '../../bench/suites/datapath.js';

const [method, framesArg, dir] = process.argv.slice(2);
const frames = Number(framesArg);
const input = path.join(dir, `${method}.pcap`);
const output = path.join(dir, 'out.pcap');
const made = makeCapture(method as Method, input, frames, true);
for (let i = 0; i < 2; i++) await replayFile(method as Method, input, output);
const bytes = await heapBytesAllocated(() => replayFile(method as Method, input, output));
process.stdout.write(JSON.stringify({ frames: made.frames, bytes }) + '\n');
