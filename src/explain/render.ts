/**
 * Text rendering of explain events, for people. Changed header fields are
 * shown `old → new` and marked: with colour on a terminal (yellow for a
 * changed field, green for a header the director added, red for one it
 * removed), or with a marker in the left column otherwise (`*` changed,
 * `+` added, `-` removed) — so the output stays readable in a file, a pipe,
 * or with NO_COLOR set.
 */
import type { ExplainEvent, OutputEvent } from './events.js';
import type { LayerDiff } from './diff.js';

export interface RenderStyle {
  /** ANSI colours instead of markers. */
  colour: boolean;
}

const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';
const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const CYAN = '\x1b[36m';

/**
 * Whether to colour: `always` / `never` as asked; `auto` colours when the
 * stream is a terminal and NO_COLOR is unset or empty (https://no-color.org).
 */
export function wantColour(when: 'auto' | 'always' | 'never', isTty: boolean, env = process.env): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  return isTty && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

/** `overhead 257 / weight 5` (what wlc and twos compare) gains its value, `= 51.4`. */
function withQuotient(text: string): string {
  return text.replace(/overhead (\d+) \/ weight (\d+)/g, (m, o: string, w: string) =>
    Number(w) > 0 ? `${m} = ${+(Number(o) / Number(w)).toFixed(2)}` : m,
  );
}

/** Width of the step-kind column. */
const KIND_W = 10;
/** Width of the field-name column. */
const NAME_W = 18;

export class TextRenderer {
  private readonly style: RenderStyle;
  private readonly write: (s: string) => void;

  constructor(style: RenderStyle, write: (s: string) => void) {
    this.style = style;
    this.write = write;
  }

  private paint(code: string, s: string): string {
    return this.style.colour ? `${code}${s}${RESET}` : s;
  }

  /** The scheduler's lines arrive before its decision: held until the `schedule` step, printed under it. */
  private sched: string[] = [];

  private flushSched(): void {
    for (const l of this.sched) this.write(l);
    this.sched = [];
  }

  event(e: ExplainEvent): void {
    if (e.type === 'sched') {
      const who =
        e.dest && e.load
          ? `${e.dest} (weight ${e.load.weight}, active ${e.load.activeConns}, inactive ${e.load.inactConns})`
          : e.dest;
      this.sched.push(`  ${' '.repeat(KIND_W)}   · ${who ? `${who}: ${withQuotient(e.text)}` : e.text}\n`);
      return;
    }
    if (!(e.type === 'step' && e.kind === 'schedule')) this.flushSched();
    switch (e.type) {
      case 'frame':
        this.write(
          `\n${this.paint(BOLD, `frame ${e.frame}`)}  t=${e.time.toFixed(6)} s  on ${e.link}  ${e.origLen} bytes\n` +
            `  ${e.summary}\n`,
        );
        return;
      case 'step':
        this.write(`  ${this.paint(CYAN, e.kind.padEnd(KIND_W))} ${e.text}\n`);
        this.flushSched();
        return;
      case 'output':
        this.output(e);
        return;
      case 'fate':
        this.flushSched();
        this.write(
          `  ${this.paint(CYAN, 'fate'.padEnd(KIND_W))} ${e.fate}${e.reason ? ` (${e.reason})` : ''}, ${e.outputs} frame${e.outputs === 1 ? '' : 's'} sent\n`,
        );
        return;
    }
  }

  private output(e: OutputEvent): void {
    const why =
      e.cause === 'timer'
        ? ' (a timer fired before this frame)'
        : e.cause === 'end'
          ? ' (at the end of the run)'
          : '';
    const what =
      e.rewriteOf === null
        ? "the director's own packet"
        : e.rewriteOf === e.frame
          ? `frame ${e.rewriteOf} rewritten`
          : `frame ${e.rewriteOf}'s packet, rewritten`;
    this.write(
      `  ${this.paint(CYAN, 'sent'.padEnd(KIND_W))} on ${e.link}, ${e.origLen} bytes${why}: ${what}\n` +
        `  ${' '.repeat(KIND_W)} ${e.summary}\n`,
    );
    for (const l of e.layers) this.layer(l);
  }

  private layer(l: LayerDiff): void {
    const c = this.style.colour;
    const tag =
      l.status === 'added'
        ? ' (added by the director)'
        : l.status === 'removed'
          ? ' (not in the frame sent)'
          : '';
    const mark = c ? ' ' : l.status === 'added' ? '+' : l.status === 'removed' ? '-' : ' ';
    const title = `${l.name}${tag}`;
    const code = l.status === 'added' ? GREEN : l.status === 'removed' ? RED : BOLD;
    this.write(`  ${' '.repeat(KIND_W)} ${mark} ${this.paint(code, title)}\n`);
    for (const x of l.fields) {
      let value: string;
      let m = ' ';
      if (l.status === 'added') {
        value = c ? this.paint(GREEN, x.after ?? '') : (x.after ?? '');
        m = c ? ' ' : '+';
      } else if (l.status === 'removed') {
        value = c ? this.paint(RED, x.before ?? '') : (x.before ?? '');
        m = c ? ' ' : '-';
      } else if (x.changed) {
        const t = `${x.before ?? '(none)'} → ${x.after ?? '(none)'}`;
        value = c ? this.paint(YELLOW, t) : t;
        m = c ? ' ' : '*';
      } else value = x.after ?? x.before ?? '';
      this.write(`  ${' '.repeat(KIND_W)} ${m}   ${x.name.padEnd(NAME_W)} ${value}\n`);
    }
  }
}
