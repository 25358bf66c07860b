/**
 * `explain`: a replay in which the director narrates what it does with the
 * selected input frames. The replay engine runs as usual (every frame goes
 * through the director, in order, on the captures' clock); the recorder is
 * the director's tracer for the selected frames only and receives every
 * frame the director sends instead of an output file.
 */
import { Replay, type ReplayInputSpec, type ReplaySummary } from '../replay/engine.js';
import { ExplainRecorder } from './recorder.js';
import { makeFilter, type FlowSpec, type FrameRange } from './select.js';
import type { ExplainEvent } from './events.js';

export interface ExplainConfig {
  setupText: string;
  setupFile: string;
  lenient?: boolean;
  inputs: readonly ReplayInputSpec[];
  seed?: number;
  maxConns?: number;
  /** Frames to explain (none: every frame). */
  frames?: readonly FrameRange[];
  /** Client flows to explain (none: every flow). */
  flows?: readonly FlowSpec[];
  onEvent: (e: ExplainEvent) => void;
  onWarning?: (message: string) => void;
  /** Receives a function that stops the replay after the current frame (the reader of the output went away). */
  onStart?: (stop: () => void) => void;
}

/** Runs the replay with narration; throws as Replay does (SetupError, capture errors). */
export async function runExplain(cfg: ExplainConfig): Promise<ReplaySummary> {
  let recorder: ExplainRecorder | null = null;
  const replay = new Replay({
    setupText: cfg.setupText,
    setupFile: cfg.setupFile,
    lenient: cfg.lenient,
    inputs: cfg.inputs,
    seed: cfg.seed,
    maxConns: cfg.maxConns,
    onWarning: cfg.onWarning,
    sink: {
      emit: (link, hdr, hdrOff, hdrLen, body, bodyOff, bodyLen, origLen) =>
        recorder?.emit(link, hdr, hdrOff, hdrLen, body, bodyOff, bodyLen, origLen),
    },
    onInput: (frameNo, link, buf, off, capLen, origLen) =>
      recorder?.beginFrame(frameNo, link, buf, off, capLen, origLen),
    onFrame: () => recorder?.endFrame(),
  });
  recorder = new ExplainRecorder(replay.director, makeFilter(cfg.frames ?? [], cfg.flows ?? []), cfg.onEvent);
  cfg.onStart?.(() => replay.requestStop('EPIPE'));
  try {
    replay.open();
    const summary = await replay.run();
    recorder.finish();
    return summary;
  } finally {
    replay.close();
  }
}
