/**
 * The real Director (src/ipvs/director.ts) plugged into the lab's switches:
 * a frame arriving on one of its interfaces is received by the director at
 * the lab's simulated time, and the frames it sends leave by the interface
 * it chose. Its timers (neighbour probes, connection expiry) run as the
 * lab's clock moves; timed set-up commands (`@SECONDS …`) apply then too.
 */
import { Director } from '../../ipvs/director.js';
import type { Rng } from '../../ipvs/env.js';
import { parseSetup, validateSetup, applySetupCommand, type SetupScript } from '../../control/setup.js';
import { macToString } from '../../wire/addr.js';
import { Fate } from '../../ipvs/verdict.js';
import { rd16 } from '../../wire/bytes.js';
import type { Nic, Sim, Switch } from './net.js';
import { arpDelay, type NoteSink } from './host.js';

/** Director interfaces the lab gives a MAC when the set-up does not (52:54:00:00:00:NN). */
const DEFAULT_MAC_BASE = 0x525400000000;

class DirectorNic implements Nic {
  readonly host = 'director';
  readonly name: string;
  readonly mac: number;
  readonly link: number;
  sw: Switch | null = null;
  private readonly node: DirectorNode;

  constructor(node: DirectorNode, link: number, name: string, mac: number) {
    this.node = node;
    this.link = link;
    this.name = name;
    this.mac = mac;
  }

  receive(frame: Uint8Array): void {
    this.node.receive(this.link, frame);
  }
}

export class DirectorNode {
  readonly director: Director;
  readonly script: SetupScript;
  readonly nics: DirectorNic[] = [];
  private readonly sim: Sim;
  private readonly rng: Rng;
  private readonly note: NoteSink;
  /** Outputs of the frame being received are delayed by this (an ARP answer's processing time). */
  private outDelay = 0;
  private ticking = false;

  constructor(setupText: string, setupFile: string, sim: Sim, rng: Rng, note: NoteSink, seed: number) {
    this.sim = sim;
    this.rng = rng;
    this.note = note;
    this.script = parseSetup(setupText, { file: setupFile });
    const make = (): Director => new Director({ seed });
    validateSetup(this.script, make);
    const d = make();
    for (const c of this.script.commands) applySetupCommand(c, d);
    d.host.links.forEach((l, i) => {
      if (!l.macSet) d.host.setMac(l, DEFAULT_MAC_BASE + 0x100 * (i + 1) + 1);
    });
    d.configChanged();
    this.director = d;
    d.env.sink = {
      emit: (link, hdr, hdrOff, hdrLen, body, bodyOff, bodyLen) => {
        const f = new Uint8Array(hdrLen + bodyLen);
        f.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
        f.set(body.subarray(bodyOff, bodyOff + bodyLen), hdrLen);
        const nic = this.nics[link];
        if (!nic || !nic.sw) return;
        if (f.length >= 42 && rd16(f, 12) === 0x0806 && rd16(f, 20) === 1)
          this.note(
            'director',
            `asks ARP for ${ipAt(f, 38)} on ${nic.name}: the packet for it waits in the neighbour queue until the answer`,
          );
        const sw = nic.sw;
        if (this.outDelay > 0) this.sim.after(this.outDelay, () => sw.send(nic, f));
        else sw.send(nic, f);
      },
    };
    for (const l of d.host.links) this.nics.push(new DirectorNic(this, l.index, l.name, l.mac));
    for (const c of this.script.timed)
      this.sim.at((c.atSeconds as number) * 1000, () => {
        this.director.advance(this.sim.now);
        applySetupCommand(c, this.director);
        this.director.configChanged();
        this.note('director', `applies the timed set-up command: ${c.text}`);
      });
  }

  /** The director interface named `name`, or the one at `index`. */
  nic(name: string, index: number): DirectorNic | undefined {
    return this.nics.find((n) => n.name === name) ?? this.nics[index];
  }

  receive(link: number, frame: Uint8Array): void {
    const d = this.director;
    d.advance(this.sim.now);
    const isArpRequest = frame.length >= 22 && rd16(frame, 12) === 0x0806 && rd16(frame, 20) === 1;
    this.outDelay = isArpRequest ? arpDelay(this.rng) : 0;
    d.receive(link, frame, 0, frame.length, frame.length);
    this.outDelay = 0;
    if (isArpRequest && d.env.fate === Fate.ANSWERED)
      this.note('director', `answers ARP: ${ipAt(frame, 38)} is at ${macToString(this.nics[link].mac)}`);
    this.keepTicking();
  }

  /** Runs the director's timers every 100 ms while the lab has anything else to do. */
  keepTicking(): void {
    if (this.ticking) return;
    this.ticking = true;
    const tick = (): void => {
      this.director.advance(this.sim.now);
      if (this.sim.pending > 0) this.sim.after(100, tick);
      else this.ticking = false;
    };
    this.sim.after(100, tick);
  }
}

function ipAt(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
