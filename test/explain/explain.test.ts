import { expect } from 'chai';
import { decodeFrame } from '../../src/explain/fields.js';
import type {
  ExplainEvent,
  OutputEvent,
  StepEvent,
  SchedEvent,
  FateEvent,
} from '../../src/explain/events.js';
import { explainScenario, ofFrame, oracleOutputs, readFrames, scenario } from './helpers.js';
import { parseFlowSpec, parseFrameSpecs, SelectionError } from '../../src/explain/select.js';

function steps(ev: ExplainEvent[]): StepEvent[] {
  return ev.filter((e): e is StepEvent => e.type === 'step');
}
function outputs(ev: ExplainEvent[]): OutputEvent[] {
  return ev.filter((e): e is OutputEvent => e.type === 'output');
}
function fate(ev: ExplainEvent[]): FateEvent {
  return ev.find((e): e is FateEvent => e.type === 'fate') as FateEvent;
}
/** `Layer.field` of every changed field, in headers that exist before and after. */
function changed(o: OutputEvent): string[] {
  return o.layers
    .filter((l) => l.status === 'changed' || l.status === 'same')
    .flatMap((l) => l.fields.filter((f) => f.changed).map((f) => `${l.name}.${f.name}`));
}
/** Expects the step kinds to appear in this order (others may come between). */
function expectKinds(ev: ExplainEvent[], kinds: string[]): void {
  const seen = steps(ev).map((s) => s.kind);
  let i = 0;
  for (const k of seen) if (k === kinds[i]) i++;
  expect(i, `kinds ${seen.join(',')} should contain in order ${kinds.join(',')}`).to.equal(kinds.length);
}
function stepText(ev: ExplainEvent[]): string {
  return steps(ev)
    .map((s) => `${s.kind}: ${s.text}`)
    .join('\n');
}

/** The output event's "after" values are the kernel's own output frame, field for field. */
function expectKernelFrame(o: OutputEvent, kernel: Uint8Array): void {
  const k = decodeFrame(kernel);
  const ours = o.layers.filter((l) => l.status !== 'removed');
  expect(ours.map((l) => l.name)).to.deep.equal(k.map((l) => l.name));
  ours.forEach((l, i) => {
    const kv = Object.fromEntries(k[i].fields.map((f) => [f.name, f.value]));
    for (const f of l.fields) expect(f.after, `${l.name}.${f.name}`).to.equal(kv[f.name]);
  });
}

describe('explain', () => {
  it('DR: names the decisions and marks only the MACs, TTL and header checksum as changed', async () => {
    const ev = ofFrame(await explainScenario('dr-rr', ['client'], [{ from: 1, to: 1 }]), 1);
    expectKinds(ev, ['arrive', 'prerouting', 'route', 'ipvs', 'schedule', 'ipvs', 'state', 'xmit', 'output']);
    const t = stepText(ev);
    expect(t).to.match(/route: route lookup: 172\.25\.40\.100 is a local address → LOCAL_IN/);
    expect(t).to.contain('virtual service 172.25.40.100:80 (rr) matched');
    expect(t).to.contain('TCP state NONE → SYN_RECV');
    expect(t).to.contain('timeout 60 s');
    expect(t).to.contain('DR: the packet goes to real server 172.25.40.3');
    const out = outputs(ev);
    expect(out).to.have.length(1);
    expect(out[0].rewriteOf).to.equal(1);
    expect(changed(out[0]).sort()).to.deep.equal(
      ['Ethernet.dst', 'Ethernet.src', 'IPv4.checksum', 'IPv4.ttl'].sort(),
    );
    expect(out[0].layers.some((l) => l.status === 'added' || l.status === 'removed')).to.equal(false);
    expectKernelFrame(out[0], (oracleOutputs('dr-rr').get(0) ?? [])[0].bytes);
    const ttl = out[0].layers[1].fields.find((f) => f.name === 'ttl');
    expect(ttl).to.deep.include({ before: '64', after: '63' });
    expect(fate(ev)).to.deep.include({ fate: 'forwarded', reason: null, outputs: 1 });
  });

  it('NAT: the request has its destination address, port and checksums rewritten; the reply its source', async () => {
    const all = await explainScenario('nat-wrr', ['client', 'server'], [{ from: 1, to: 2 }]);
    const req = ofFrame(all, 1);
    expect(stepText(req)).to.contain('NAT: destination 192.168.1.100:80 → 192.168.2.220:8080');
    const o1 = outputs(req)[0];
    expect(changed(o1).sort()).to.deep.equal(
      [
        'Ethernet.dst',
        'Ethernet.src',
        'IPv4.checksum',
        'IPv4.dst',
        'IPv4.ttl',
        'TCP.checksum',
        'TCP.dst port',
      ].sort(),
    );
    const kernel = oracleOutputs('nat-wrr');
    expectKernelFrame(o1, (kernel.get(0) ?? [])[0].bytes);
    const csum = o1.layers.find((l) => l.name === 'TCP')?.fields.find((f) => f.name === 'checksum');
    expect(csum?.before).to.match(/^0x[0-9a-f]{4}$/);
    expect(csum?.after).to.match(/^0x[0-9a-f]{4}$/);
    expect(csum?.before).to.not.equal(csum?.after);

    const rep = ofFrame(all, 2);
    expectKinds(rep, ['arrive', 'route', 'forward', 'ipvs', 'xmit', 'state', 'output']);
    const t = stepText(rep);
    expect(t).to.contain('is not local → FORWARD');
    expect(t).to.contain(
      'IPVS: reply of connection 192.168.1.10:41001 → 192.168.1.100:80 → 192.168.2.220:8080',
    );
    expect(t).to.contain('OUTPUT table');
    const o2 = outputs(rep)[0];
    expect(changed(o2).sort()).to.deep.equal(
      [
        'Ethernet.dst',
        'Ethernet.src',
        'IPv4.checksum',
        'IPv4.src',
        'IPv4.ttl',
        'TCP.checksum',
        'TCP.src port',
      ].sort(),
    );
    expectKernelFrame(o2, (kernel.get(1) ?? [])[0].bytes);
  });

  it('TUN: the outer IPv4 header is added; inside, only the TTL and its checksum change', async () => {
    const ev = ofFrame(await explainScenario('tun-sh', ['client'], [{ from: 1, to: 1 }]), 1);
    expect(stepText(ev)).to.match(/TUN: encapsulated in IPIP: outer 172\.25\.84\.1 → 172\.25\.84\.\d/);
    const o = outputs(ev)[0];
    expect(o.layers.map((l) => `${l.name}:${l.status}`)).to.deep.equal([
      'Ethernet:changed',
      'IPv4:added',
      'IPv4:changed',
      'TCP:same',
      'payload:same',
    ]);
    expect(changed(o).sort()).to.deep.equal(
      ['Ethernet.dst', 'Ethernet.src', 'IPv4.checksum', 'IPv4.ttl'].sort(),
    );
    const outer = o.layers[1].fields;
    expect(outer.find((f) => f.name === 'protocol')?.after).to.equal('4 (IPIP)');
    expect(outer.every((f) => f.before === null && f.changed)).to.equal(true);
    expectKernelFrame(o, (oracleOutputs('tun-sh').get(0) ?? [])[0].bytes);
  });

  it('TUN with GUE: the outer IPv4, UDP and GUE headers are added, on every tunnel port of the set-up', async () => {
    const ev = await explainScenario('tun-gue', ['client'], [{ from: 1, to: 3 }]);
    const ports = new Set<string>();
    for (const o of outputs(ev)) {
      expect(o.layers.map((l) => `${l.name}:${l.status}`).slice(0, 5)).to.deep.equal([
        'Ethernet:changed',
        'IPv4:added',
        'UDP:added',
        'GUE:added',
        'IPv4:changed',
      ]);
      ports.add(o.layers[2].fields.find((f) => f.name === 'dst port')?.after ?? '');
    }
    expect([...ports].sort()).to.deep.equal(['6080', '6081']);
  });

  it('TUN: a 1500-byte DF packet is answered by the director with ICMP fragmentation needed (MTU 1480)', async () => {
    const ev = ofFrame(await explainScenario('tun-sh', ['client'], [{ from: 13, to: 13 }]), 13);
    const t = stepText(ev);
    expect(t).to.contain('1500-byte packet with DF over the MTU 1480');
    expect(t).to.contain("the director's stack sends ICMP type 3 code 4 (MTU 1480)");
    expect(fate(ev)).to.deep.include({ fate: 'answered', reason: 'fragmentation-needed' });
    const o = outputs(ev)[0];
    expect(o.rewriteOf).to.equal(null);
    expect(o.layers.every((l) => l.status === 'new')).to.equal(true);
    expect(
      o.layers.find((l) => l.name === 'ICMP')?.fields.find((f) => f.name === 'next-hop MTU')?.after,
    ).to.equal('1480');
    expect(o.layers.some((l) => l.name === 'quoted IPv4')).to.equal(true);
  });

  it('wlc: every candidate is reported with its numbers and the pick has the least overhead per weight', async () => {
    const ev = await explainScenario('sched-wlc', ['client', 'server']);
    let checked = 0;
    for (const f of ev.filter((e) => e.type === 'frame')) {
      const fe = ofFrame(ev, f.frame as number);
      const cands = fe.filter(
        (e): e is SchedEvent => e.type === 'sched' && e.load !== null && e.text !== 'picked',
      );
      const pick = fe.find((e): e is SchedEvent => e.type === 'sched' && e.text === 'picked');
      if (!pick || cands.length === 0) continue;
      const usable = cands.filter((c) => c.load && c.load.weight > 0 && !c.load.overloaded);
      let best = usable[0];
      for (const c of usable)
        if (c.load && best.load && c.load.overhead * best.load.weight < best.load.overhead * c.load.weight)
          best = c;
      expect(pick.dest, `frame ${f.frame}`).to.equal(best.dest);
      for (const c of cands) expect(c.text).to.match(/overhead \d+ \/ weight \d+|skipped/);
      checked++;
    }
    expect(checked).to.be.greaterThan(10);
  });

  it('persistence: a later connection of the same client hits its template', async () => {
    const ev = await explainScenario('persist', ['client']);
    const text = steps(ev).map((s) => s.text);
    expect(text.some((t) => t.startsWith('persistence: no template for client network'))).to.equal(true);
    expect(text.some((t) => t.startsWith('persistence: template hit'))).to.equal(true);
  });

  it("says why a frame is not IPVS's business and how the director's own stack answers it", async () => {
    const ev = await explainScenario('edge-dr', ['client']);
    const frames = ev.filter((e) => e.type === 'frame').map((e) => e.frame as number);
    const answered = frames.filter((n) => {
      const fe = ofFrame(ev, n);
      return stepText(fe).includes("not IPVS's business") && fate(fe).fate === 'answered';
    });
    expect(answered.length).to.be.greaterThan(0);
    const fe = ofFrame(ev, answered[0]);
    expect(stepText(fe)).to.match(/local: (local delivery|the director's stack sends)/);
    expect(outputs(fe)[0].rewriteOf).to.equal(null);
  });

  it('says why a frame is dropped', async () => {
    const ev = await explainScenario('edge-nat', ['client', 'server']);
    const frames = ev.filter((e) => e.type === 'frame').map((e) => e.frame as number);
    const dropped = frames.filter((n) => fate(ofFrame(ev, n)).fate === 'dropped');
    expect(dropped.length).to.be.greaterThan(0);
    for (const n of dropped) {
      const f = fate(ofFrame(ev, n));
      expect(f.reason).to.be.a('string').and.not.equal('');
      expect(steps(ofFrame(ev, n)).some((s) => s.kind === 'drop')).to.equal(true);
    }
  });

  it('--frame: only the selected frames are explained, and the others still go through the director', async () => {
    const sel = await explainScenario(
      'dr-rr',
      ['client'],
      [
        { from: 2, to: 3 },
        { from: 5, to: 5 },
      ],
    );
    expect(sel.filter((e) => e.type === 'frame').map((e) => e.frame)).to.deep.equal([2, 3, 5]);
    expect(new Set(sel.map((e) => e.frame))).to.deep.equal(new Set([2, 3, 5]));
    // frame 2 is scheduled after frame 1 (not explained) took the first server
    const full = await explainScenario('dr-rr', ['client']);
    const pick = (ev: ExplainEvent[]): string =>
      (steps(ofFrame(ev, 2)).find((s) => s.kind === 'schedule') as StepEvent).text;
    expect(pick(sel)).to.equal(pick(full));
    expect(pick(sel)).to.contain('picks 172.25.40.2:80');
  });

  it('--flow: the frames of one client flow, both directions', async () => {
    const flow = parseFlowSpec('192.168.1.10:41001');
    const ev = await explainScenario('nat-wrr', ['client', 'server'], [], [flow]);
    const frames = ev.filter((e) => e.type === 'frame');
    const s = scenario('nat-wrr', ['client', 'server']);
    const hasPort = (b: Uint8Array): boolean => {
      const sp = (b[34] << 8) | b[35];
      const dp = (b[36] << 8) | b[37];
      return sp === 41001 || dp === 41001;
    };
    const expected = s.inputs.flatMap((p) => readFrames(p)).filter(hasPort).length;
    expect(frames).to.have.length(expected);
    expect(frames.some((e) => e.type === 'frame' && e.link === 'client')).to.equal(true);
    expect(frames.some((e) => e.type === 'frame' && e.link === 'server')).to.equal(true);
    for (const f of frames) if (f.type === 'frame') expect(f.summary).to.contain('41001');
  });

  it('parses frame ranges and flows, and refuses bad ones', () => {
    expect(parseFrameSpecs(['3', '5-7,9'])).to.deep.equal([
      { from: 3, to: 3 },
      { from: 5, to: 7 },
      { from: 9, to: 9 },
    ]);
    expect(() => parseFrameSpecs(['0'])).to.throw(SelectionError);
    expect(() => parseFrameSpecs(['7-5'])).to.throw(SelectionError);
    expect(() => parseFrameSpecs(['x'])).to.throw(SelectionError);
    expect(parseFlowSpec('[2001:db8::1]:443').addr.toString()).to.equal('2001:db8::1');
    expect(() => parseFlowSpec('10.0.0.1')).to.throw(SelectionError);
  });
});
