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
import { FrameBatcher } from './batches.js';
import { workerListing, type MainMessage, type WorkerJob, type WorkerMessage } from './workers.js';

async function main(job: WorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker_main runs as a worker thread');
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  let replay: Replay | null = null;
  const now = (): [number, number] => (replay ? replay.inputTime() : [0, 0]);
  const batcher = job.output
    ? new FrameBatcher(
        (buf, used) => {
          const [sec, nsec] = now();
          post({ type: 'batch', buf, used, sec, nsec }, [buf]);
        },
        job.pending,
        job.index,
      )
    : null;
  let sharder: Sharder | null = null;
  replay = new Replay({
    setupText: job.setupText,
    setupFile: job.setupFile,
    lenient: job.lenient,
    inputs: job.inputs,
    writer: batcher,
    seed: job.seed,
    maxConns: job.maxConns,
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
    else batcher?.recycle(m.buf);
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
