import { expect } from 'chai';
import path from 'node:path';
import { runExplainCli, type ExplainCliOptions } from '../../src/cli/cmd_explain.js';
import { runLabCli, type LabCliOptions } from '../../src/cli/cmd_lab.js';
import { main } from '../../src/cli/main.js';
import { wantColour } from '../../src/explain/render.js';
import { REPO, scenario, captureStdout } from './helpers.js';
import { schemaFromDoc, validate } from './schema.js';

const ESC = '\x1b[';

function opts(setup: string, more: Partial<ExplainCliOptions> = {}): ExplainCliOptions {
  return { setup, in: [], frame: [], flow: [], color: 'never', seed: '1', maxConns: '0', ...more };
}

async function explainText(
  name: string,
  ifaces: string[],
  more: Partial<ExplainCliOptions>,
  tty = false,
): Promise<string> {
  const s = scenario(name, ifaces);
  let text = '';
  const code = await runExplainCli(opts(s.setup, more), s.inputs, (x) => void (text += x), tty);
  expect(code).to.equal(0);
  return text;
}

/** Lines of a changed field in marker mode: `*` in the marker column. */
const MARKED = /^ {13}\* {3}\S/m;

describe('explain command', () => {
  it('marks changed fields with `*` and shows checksums old → new when not colouring', async () => {
    const t = await explainText('nat-wrr', ['client', 'server'], { frame: ['1'] });
    expect(t).to.not.contain(ESC);
    expect(t).to.match(MARKED);
    expect(t).to.match(/^ {13}\* {3}checksum +0x[0-9a-f]{4} → 0x[0-9a-f]{4}$/m);
    expect(t).to.match(/^ {13}\* {3}dst port +80 → 8080$/m);
    expect(t).to.match(/^ {13} {4}src port +41001$/m);
  });

  it('marks an added header with `+` (TUN outer header)', async () => {
    const t = await explainText('tun-sh', ['client'], { frame: ['1'] });
    expect(t).to.match(/^ {13}\+ IPv4 \(added by the director\)$/m);
    expect(t).to.match(/^ {13}\+ {3}protocol +4 \(IPIP\)$/m);
  });

  it('colours instead of marking with --color always, and on a terminal unless NO_COLOR is set', async () => {
    const c = await explainText('nat-wrr', ['client', 'server'], { frame: ['1'], color: 'always' });
    expect(c).to.contain(`${ESC}33m80 → 8080${ESC}0m`);
    expect(c).to.not.match(MARKED);
    expect(wantColour('auto', true, {})).to.equal(true);
    expect(wantColour('auto', true, { NO_COLOR: '1' })).to.equal(false);
    expect(wantColour('auto', true, { NO_COLOR: '' })).to.equal(true);
    expect(wantColour('auto', false, {})).to.equal(false);
    expect(wantColour('never', true, {})).to.equal(false);
    expect(wantColour('always', false, { NO_COLOR: '1' })).to.equal(true);
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      const tty = await explainText('dr-rr', ['client'], { frame: ['1'], color: 'auto' }, true);
      expect(tty).to.contain(ESC);
      process.env.NO_COLOR = '1';
      const noColour = await explainText('dr-rr', ['client'], { frame: ['1'], color: 'auto' }, true);
      expect(noColour).to.not.contain(ESC);
      expect(noColour).to.match(MARKED);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  it('--json prints one valid JSON object per event, each following the schema in docs/explain.md', async () => {
    const schema = schemaFromDoc(path.join(REPO, 'docs/explain.md'), 'explain-events');
    const runs: [string, string[]][] = [
      ['dr-rr', ['client']],
      ['nat-wrr', ['client', 'server']],
      ['tun-sh', ['client']],
      ['edge-nat', ['client', 'server']],
      ['persist', ['client']],
      ['sched-wlc', ['client', 'server']],
    ];
    const types = new Set<string>();
    for (const [name, ifaces] of runs) {
      const t = await explainText(name, ifaces, { json: true });
      const lines = t.split('\n').filter(Boolean);
      expect(lines.length, name).to.be.greaterThan(10);
      for (const l of lines) {
        const e = JSON.parse(l) as Record<string, unknown>;
        types.add(e.type as string);
        expect(validate(e, schema), `${name}: ${l.slice(0, 120)}`).to.deep.equal([]);
      }
    }
    expect([...types].sort()).to.deep.equal(['fate', 'frame', 'output', 'sched', 'step']);
  });

  it('the schema check can fail', () => {
    const schema = schemaFromDoc(path.join(REPO, 'docs/explain.md'), 'explain-events');
    expect(
      validate({ type: 'fate', frame: 1, fate: 'eaten', reason: null, outputs: 0 }, schema),
    ).to.not.deep.equal([]);
    expect(validate({ type: 'frame', frame: 1 }, schema)).to.not.deep.equal([]);
  });

  it('refuses a bad --frame with the usage exit status', async () => {
    const s = scenario('dr-rr', ['client']);
    const err = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(await main(['explain', '--setup', s.setup, s.inputs[0], '--frame', '0'])).to.equal(2);
      expect(await main(['explain', '--setup', s.setup, s.inputs[0], '--flow', 'nope'])).to.equal(2);
      expect(await main(['explain', '--setup', '/nonexistent', s.inputs[0]])).to.equal(3);
    } finally {
      process.stderr.write = err;
    }
  });

  it('runs from the command line', async () => {
    const s = scenario('dr-rr', ['client']);
    const out = await captureStdout(async () => {
      expect(
        await main(['explain', '--setup', s.setup, s.inputs[0], '--frame', '2', '--color', 'never']),
      ).to.equal(0);
    });
    expect(out).to.contain('frame 2  t=0.001000 s  on client  66 bytes');
    expect(out).to.contain('17 frames replayed, 1 explained');
  });
});

describe('lab command', () => {
  const base: LabCliOptions = {
    requests: '2',
    arpIgnore: '1',
    arpAnnounce: '2',
    rpFilter: '0',
    rsGateway: 'director',
    seed: '1',
    synRetries: '2',
  };

  it('prints the hop table and the answers', () => {
    let t = '';
    expect(runLabCli('dr', base, (x) => void (t += x))).to.equal(0);
    expect(t).to.contain('request 1: GET http://172.25.40.100/ from client port 40001: answered by rs2');
    expect(t).to.contain('answers: rs2, rs1');
    expect(t).to.match(
      /client → director +request +52:54:00:19:28:fa 52:54:00:19:28:01 172\.25\.40\.250:40001 +172\.25\.40\.100:80/,
    );
  });

  it('--json follows the documented shape', () => {
    let t = '';
    runLabCli('nat', { ...base, json: true }, (x) => void (t += x));
    const j = JSON.parse(t) as Record<string, unknown>;
    expect(Object.keys(j).sort()).to.deep.equal(
      [
        'directorSetup',
        'hops',
        'hosts',
        'listing',
        'mode',
        'network',
        'notes',
        'realServerPrep',
        'requests',
        'title',
        'vip',
        'vipArpOwner',
      ].sort(),
    );
    const hop = (j.hops as Record<string, unknown>[])[0];
    expect(Object.keys(hop).sort()).to.deep.equal(
      ['dst', 'dstMac', 'from', 'leg', 'request', 'src', 'srcMac', 't', 'to', 'what'].sort(),
    );
  });

  it('refuses an unknown mode and bad numbers', () => {
    expect(() => runLabCli('fullnat', base, () => undefined)).to.throw(/dr, nat or tun/);
    expect(() => runLabCli('dr', { ...base, requests: '0' }, () => undefined)).to.throw(/--requests/);
    expect(() => runLabCli('dr', { ...base, arpIgnore: '9' }, () => undefined)).to.throw(/--arp-ignore/);
  });
});
