/**
 * Turns one director's work into explain events: it is the director's
 * Tracer and SchedTrace while a selected input frame is processed (and
 * neither for the other frames, which then cost nothing), and the FrameSink
 * that receives what the director sends, comparing every header of a frame
 * sent with the input packet it was made from.
 */
import type { Director } from '../ipvs/director.js';
import type { FrameSink } from '../ipvs/env.js';
import type { Dest } from '../ipvs/service.js';
import type { SchedTrace } from '../ipvs/sched/scheduler.js';
import type { Tracer, TraceKindValue } from '../ipvs/trace.js';
import { destLabel } from '../ipvs/sched/common.js';
import { FATE_NAMES, REASON_NAMES, Fate } from '../ipvs/verdict.js';
import { decodeFrame, summarizeFrame, packetIdentity, type Layer, type PacketIdentity } from './fields.js';
import { diffFrames } from './diff.js';
import type { ExplainEvent } from './events.js';

/** Decides whether an input frame is explained (1-based frame number, the frame's bytes). */
export type FrameFilter = (frame: number, bytes: Uint8Array) => boolean;

interface RecentInput {
  frame: number;
  identity: PacketIdentity | null;
  layers: Layer[];
}

/** How many earlier selected inputs a later output may still be matched with (a packet queued for ARP). */
const RECENT = 64;

export class ExplainRecorder implements Tracer, SchedTrace, FrameSink {
  private readonly director: Director;
  private readonly filter: FrameFilter;
  private readonly onEvent: (e: ExplainEvent) => void;
  private readonly guePorts: number[];
  /** The frame being processed (1-based), 0 between frames, -1 after the end. */
  private frame = 0;
  private selected = false;
  private outIndex = 0;
  private readonly recent: RecentInput[] = [];
  /** Outputs sent between frames (timers), reported with the next frame when it is selected. */
  private pendingTimer: { link: number; bytes: Uint8Array; origLen: number }[] = [];

  constructor(director: Director, filter: FrameFilter, onEvent: (e: ExplainEvent) => void) {
    this.director = director;
    this.filter = filter;
    this.onEvent = onEvent;
    const gue = new Set<number>();
    for (const s of director.ipvs.services) for (const d of s.dests) if (d.tunPort) gue.add(d.tunPort);
    this.guePorts = [...gue];
  }

  private linkName(link: number): string {
    const l = this.director.host.links[link];
    return l ? l.name : `link ${link}`;
  }

  /** Before the director receives input frame `frameNo` (0-based, as the replay counts). */
  beginFrame(
    frameNo: number,
    link: number,
    buf: Uint8Array,
    off: number,
    capLen: number,
    origLen: number,
  ): void {
    const n = frameNo + 1;
    this.frame = n;
    this.outIndex = 0;
    const bytes = buf.slice(off, off + capLen);
    this.selected = this.filter(n, bytes);
    const env = this.director.env;
    env.tracer = this.selected ? this : null;
    env.schedTrace = this.selected ? this : null;
    if (!this.selected) {
      this.pendingTimer = [];
      return;
    }
    const opts = { guePorts: this.guePorts };
    this.onEvent({
      type: 'frame',
      frame: n,
      time: Math.round(env.nowMs * 1000) / 1e6,
      link: this.linkName(link),
      capLen,
      origLen,
      summary: summarizeFrame(bytes, opts).text,
    });
    for (const t of this.pendingTimer) this.output('timer', t.link, t.bytes, t.origLen);
    this.pendingTimer = [];
    this.recent.push({ frame: n, identity: packetIdentity(bytes, opts), layers: decodeFrame(bytes, opts) });
    if (this.recent.length > RECENT) this.recent.shift();
  }

  /** After the director processed the frame: its fate. */
  endFrame(): void {
    if (this.selected) {
      const env = this.director.env;
      this.onEvent({
        type: 'fate',
        frame: this.frame,
        fate: FATE_NAMES[env.fate] ?? 'unknown',
        reason: env.fate === Fate.FORWARDED ? null : (REASON_NAMES[env.reason] ?? null),
        outputs: env.outCount,
      });
    }
    this.frame = 0;
    this.selected = false;
    const env = this.director.env;
    env.tracer = null;
    env.schedTrace = null;
  }

  /** The run is over: later outputs (flushes) are reported with cause `end`. */
  finish(): void {
    this.frame = -1;
  }

  step(kind: TraceKindValue, text: string, data?: Record<string, unknown>): void {
    if (!this.selected) return;
    this.onEvent({ type: 'step', frame: this.frame, kind, text, data: data ?? null });
  }

  consider(dest: Dest, detail: string): void {
    if (!this.selected) return;
    this.onEvent({
      type: 'sched',
      frame: this.frame,
      dest: destLabel(dest),
      load: {
        weight: dest.weight,
        activeConns: dest.activeConns,
        inactConns: dest.inactConns,
        overhead: dest.overhead,
        overloaded: dest.overloaded,
      },
      text: detail,
    });
  }

  note(text: string): void {
    if (!this.selected) return;
    this.onEvent({ type: 'sched', frame: this.frame, dest: null, load: null, text });
  }

  emit(
    link: number,
    hdr: Uint8Array,
    hdrOff: number,
    hdrLen: number,
    body: Uint8Array,
    bodyOff: number,
    bodyLen: number,
    origLen: number,
  ): void {
    if (this.frame === 0) {
      const bytes = new Uint8Array(hdrLen + bodyLen);
      bytes.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
      bytes.set(body.subarray(bodyOff, bodyOff + bodyLen), hdrLen);
      this.pendingTimer.push({ link, bytes, origLen });
      return;
    }
    if (this.frame > 0 && !this.selected) return;
    const bytes = new Uint8Array(hdrLen + bodyLen);
    bytes.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
    bytes.set(body.subarray(bodyOff, bodyOff + bodyLen), hdrLen);
    this.output(this.frame > 0 ? 'frame' : 'end', link, bytes, origLen);
  }

  private output(cause: 'frame' | 'timer' | 'end', link: number, bytes: Uint8Array, origLen: number): void {
    const opts = { guePorts: this.guePorts };
    const id = packetIdentity(bytes, opts);
    let before: RecentInput | null = null;
    if (id)
      for (let i = this.recent.length - 1; i >= 0 && !before; i--) {
        const r = this.recent[i];
        if (r.identity && r.identity.key === id.key && r.identity.ttl === id.ttl + 1) before = r;
      }
    const layers = decodeFrame(bytes, opts);
    this.onEvent({
      type: 'output',
      frame: cause === 'end' ? null : this.frame,
      cause,
      index: ++this.outIndex,
      link: this.linkName(link),
      capLen: bytes.length,
      origLen,
      summary: summarizeFrame(bytes, opts).text,
      rewriteOf: before ? before.frame : null,
      layers: diffFrames(before ? before.layers : null, layers),
    });
  }
}
