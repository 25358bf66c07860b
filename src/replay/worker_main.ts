/**
 * A worker of a sharded replay (src/replay/workers.ts): replays every input
 * through its own director, receiving the frames whose client hashes to it
 * (src/replay/shard.ts), observing the neighbour frames other workers own,
 * and writing what it sends to its temporary pcapng file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Replay, FrameRole } from './engine.js';
import { NEIGHBOUR, Sharder } from './shard.js';
import { listConns } from './listing.js';
import { workerListing, type MainMessage, type WorkerJob, type WorkerMessage } from './workers.js';

async function main(job: WorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker_main runs as a worker thread');
  const post = (m: WorkerMessage): void => port.postMessage(m);
  let sharder: Sharder | null = null;
  const replay = new Replay({
    setupText: job.setupText,
    setupFile: job.setupFile,
    lenient: job.lenient,
    inputs: job.inputs,
    outFile: job.outFile,
    seed: job.seed,
    maxConns: job.maxConns,
    progressEvery: job.progressEvery,
    onProgress: (bytes, frames) => post({ type: 'progress', bytes, frames }),
    frameFilter: (_link, buf, off, capLen) => {
      const w = (sharder as Sharder).shardOf(buf, off, capLen);
      if (w === job.index) return FrameRole.RECEIVE;
      if (w === NEIGHBOUR) return job.index === 0 ? FrameRole.RECEIVE : FrameRole.OBSERVE;
      return FrameRole.SKIP;
    },
  });
  sharder = new Sharder(replay.director, job.count);
  port.on('message', (m: MainMessage) => {
    if (m.type === 'stop') replay.requestStop(m.signal);
  });
  try {
    replay.open();
    const summary = await replay.run();
    replay.close();
    post({
      type: 'done',
      summary,
      timedApplied: replay.timedApplied,
      listing: job.listing ? workerListing(replay.director, listConns(replay.director)) : null,
    });
  } catch (e) {
    try {
      replay.close();
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
