/**
 * The events of `ipvs-sim explain`, one JSON object per line with `--json`
 * (documented in docs/explain.md, whose schema the tests check them against).
 * The text output renders the same events.
 */
import type { LayerDiff } from './diff.js';

/** An input frame the selection picked: it arrives at the director. */
export interface FrameEvent {
  type: 'frame';
  /** Frame number, from 1, over all inputs merged by timestamp. */
  frame: number;
  /** Simulated seconds since the first input frame. */
  time: number;
  /** Director interface the frame arrives on. */
  link: string;
  capLen: number;
  origLen: number;
  /** One-line description (addresses, ports, flags). */
  summary: string;
}

/** A decision on the frame's path (TraceKind values: arrive, route, hook, ipvs, persist, schedule, state, xmit, local, forward, output, drop, …). */
export interface StepEvent {
  type: 'step';
  frame: number;
  kind: string;
  text: string;
  /** The numbers behind the decision (depends on `kind`), or null. */
  data: Record<string, unknown> | null;
}

/** One line of the scheduler's reasoning: a candidate with the numbers compared (`dest` set) or a note. */
export interface SchedEvent {
  type: 'sched';
  frame: number;
  /** The real server considered (`addr:port`), null for a note. */
  dest: string | null;
  /** That server's numbers when it was considered, null for a note. */
  load: DestLoad | null;
  text: string;
}

/** A real server's weight and counters as the scheduler saw them. */
export interface DestLoad {
  weight: number;
  activeConns: number;
  inactConns: number;
  /** activeconns × 256 + totalconns, what lc/wlc/lblc/lblcr/twos compare (per weight for the weighted ones). */
  overhead: number;
  overloaded: boolean;
}

/** A frame the director sent. */
export interface OutputEvent {
  type: 'output';
  /** The input frame that caused it; for `cause` timer: the next input frame; null at the end of the run. */
  frame: number | null;
  /** frame: caused by the input frame; timer: sent when simulated time moved on (neighbour probes, …); end: at the end of the run. */
  cause: 'frame' | 'timer' | 'end';
  /** 1, 2, … among the outputs of that frame. */
  index: number;
  /** Director interface it leaves from. */
  link: string;
  capLen: number;
  origLen: number;
  summary: string;
  /** The number of the input frame this is a rewrite of (header values compared with it), or null: a packet of the director's own (ARP, ICMP error, RST). */
  rewriteOf: number | null;
  layers: LayerDiff[];
}

/** What became of the input frame. */
export interface FateEvent {
  type: 'fate';
  frame: number;
  /** forwarded, answered, local, dropped, held. */
  fate: string;
  /** Reason name (docs/explain.md), null for forwarded. */
  reason: string | null;
  /** Frames the director sent for it. */
  outputs: number;
}

export type ExplainEvent = FrameEvent | StepEvent | SchedEvent | OutputEvent | FateEvent;
