/**
 * The lab's network: a simulated clock with an event queue, Ethernet
 * switches that learn MAC addresses, and the capture of every frame a
 * network interface sends or receives (the hop table and --pcap-dir are made
 * from it). Hosts plug their interfaces (Nic) into switch ports.
 *
 * Time is in milliseconds; events at the same time run in the order they
 * were scheduled. A frame takes LINK_DELAY_MS to cross a cable, so the hop
 * from a host through the switch to another host takes twice that.
 */
import { readMac } from '../../wire/addr.js';

/** One cable's propagation + serialisation time, ms (10 µs). */
export const LINK_DELAY_MS = 0.01;

export class Sim {
  now = 0;
  private seq = 0;
  private readonly queue: { t: number; seq: number; fn: () => void }[] = [];

  /** Runs `fn` at now + `delayMs`. */
  after(delayMs: number, fn: () => void): void {
    this.at(this.now + delayMs, fn);
  }

  at(t: number, fn: () => void): void {
    const ev = { t: Math.max(t, this.now), seq: this.seq++, fn };
    // binary search insertion (the queue stays small)
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = this.queue[mid];
      if (q.t < ev.t || (q.t === ev.t && q.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, ev);
  }

  /** Events still queued. */
  get pending(): number {
    return this.queue.length;
  }

  /** Runs events in time order until none is left or the clock passes `untilMs`. */
  run(untilMs = Infinity): void {
    while (this.queue.length > 0 && this.queue[0].t <= untilMs) {
      const ev = this.queue.shift() as { t: number; fn: () => void };
      this.now = ev.t;
      ev.fn();
    }
  }
}

/** A frame crossing one cable: recorded for the hop table and the captures. */
export interface WireFrame {
  /** Time the frame leaves the sending interface, ms. */
  t: number;
  /** Sending host and interface, e.g. `client`, `eth0`. */
  fromHost: string;
  fromIf: string;
  /** Hosts and interfaces that received it (after the switch). */
  to: { host: string; ifname: string }[];
  bytes: Uint8Array;
}

/** A host's network interface as the switch sees it. */
export interface Nic {
  readonly host: string;
  readonly name: string;
  readonly mac: number;
  /** A frame arrives on this interface (a copy the host may keep). */
  receive(frame: Uint8Array): void;
}

const BROADCAST = 0xffffffffffff;

/** A learning Ethernet switch: forwards to the port that has the destination MAC, floods otherwise. */
export class Switch {
  readonly name: string;
  private readonly sim: Sim;
  private readonly ports: Nic[] = [];
  private readonly macTable = new Map<number, number>();
  /** Every frame sent into the switch, in order (with its receivers). */
  readonly frames: WireFrame[];

  constructor(name: string, sim: Sim, log: WireFrame[]) {
    this.name = name;
    this.sim = sim;
    this.frames = log;
  }

  /** Plugs an interface into a new port. */
  attach(nic: Nic): void {
    this.ports.push(nic);
  }

  /** `nic` sends `frame` (copied). */
  send(nic: Nic, frame: Uint8Array): void {
    const bytes = frame.slice();
    const inPort = this.ports.indexOf(nic);
    if (inPort < 0) throw new Error(`${nic.host}/${nic.name} is not plugged into ${this.name}`);
    const src = readMac(bytes, 6);
    const dst = readMac(bytes, 0);
    this.macTable.set(src, inPort);
    const known = this.macTable.get(dst);
    const out: Nic[] = [];
    if (dst === BROADCAST || (bytes[0] & 1) !== 0 || known === undefined) {
      this.ports.forEach((p, i) => {
        if (i !== inPort) out.push(p);
      });
    } else if (known !== inPort) out.push(this.ports[known]);
    const rec: WireFrame = {
      t: this.sim.now,
      fromHost: nic.host,
      fromIf: nic.name,
      to: out.map((p) => ({ host: p.host, ifname: p.name })),
      bytes,
    };
    this.frames.push(rec);
    for (const p of out) this.sim.after(2 * LINK_DELAY_MS, () => p.receive(bytes.slice()));
  }
}
