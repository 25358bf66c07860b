/**
 * A worker of a sharded replay (src/replay/workers.ts): replays every input
 * through its own director, receiving the frames whose client hashes to it
 * (src/replay/shard.ts), observing the neighbour frames other workers own,
 * and handing the frames it sends to the main thread in batches
 * (src/replay/batches.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Replay, FrameRole } from './engine.js';
import { NEIGHBOUR, Sharder } from './shard.js';
import { listConns } from './listing.js';
import { FrameBatcher, Handover } from './batches.js';
import { adoptSharedArena } from '../capture/arena.js';
import { collectGarbageNow } from './gc.js';
import { DEFAULT_READ_BUFFER } from '../capture/index.js';
import { workerListing, type MainMessage, type WorkerJob, type WorkerMessage } from './workers.js';

async function main(job: WorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker_main runs as a worker thread');
  const post = (m: WorkerMessage): void => port.postMessage(m);
  let replay: Replay | null = null;
  const now = (): [number, number] => (replay ? replay.inputTime() : [0, 0]);
  const arena = adoptSharedArena(job.arena);
  const batcher = job.output
    ? new FrameBatcher(arena, Handover.from(job.handover), job.index, (slot, used) => {
        const [sec, nsec] = now();
        post({ type: 'batch', slot, used, sec, nsec });
      })
    : null;
  let sharder: Sharder | null = null;
  replay = new Replay({
    setupText: job.setupText,
    setupFile: job.setupFile,
    lenient: job.lenient,
    inputs: job.inputs,
    writer: batcher,
    arena: arena.subarray(job.readOff, job.readOff + job.inputs.length * DEFAULT_READ_BUFFER),
    seed: job.seed,
    maxConns: job.maxConns,
    releaseMemory: job.releaseMemory ? collectGarbageNow : null,
    progressEvery: job.progressEvery,
    onProgress: (bytes, frames) => {
      // what is batched so far goes out with the position, so the main thread can merge up to it
      batcher?.flush();
      const [sec, nsec] = now();
      post({ type: 'progress', bytes, frames, sec, nsec });
    },
    frameFilter: (_link, buf, off, capLen) => {
      const w = (sharder as Sharder).shardOf(buf, off, capLen);
      if (w === job.index) return FrameRole.RECEIVE;
      if (w === NEIGHBOUR) return job.index === 0 ? FrameRole.RECEIVE : FrameRole.OBSERVE;
      return FrameRole.SKIP;
    },
  });
  const r = replay;
  sharder = new Sharder(r.director, job.count);
  port.on('message', (m: MainMessage) => {
    if (m.type === 'stop') r.requestStop(m.signal);
  });
  try {
    r.open();
    const summary = await r.run();
    r.close();
    post({
      type: 'done',
      summary,
      timedApplied: r.timedApplied,
      listing: job.listing ? workerListing(r.director, listConns(r.director)) : null,
    });
  } catch (e) {
    try {
      r.close();
    } catch {
      // the first error is the one to report
    }
    throw e;
  } finally {
    port.removeAllListeners('message');
  }
}

main(workerData as WorkerJob).catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  parentPort?.postMessage({
    type: 'error',
    kind: err.constructor.name,
    message: err.message,
  } satisfies WorkerMessage);
});
