import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { docFiles, regenerate, runCommand, REPO } from '../../scripts/docs.js';

const PAGES = ['explain.md', 'dr.md', 'nat.md', 'tun.md', 'fullnat.md', 'real-servers.md'];

describe('docs', () => {
  it('every generated block is what its command prints today (npx tsx scripts/docs.ts regenerates them)', async () => {
    const files = docFiles();
    expect(files.map((f) => path.basename(f))).to.include.members([
      'explain.md',
      'dr.md',
      'nat.md',
      'tun.md',
      'fullnat.md',
    ]);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const fresh = await regenerate(text);
      if (fresh !== text) {
        const a = text.split('\n');
        const b = fresh.split('\n');
        const i = a.findIndex((l, k) => l !== b[k]);
        expect.fail(
          `${path.relative(REPO, f)} is out of date at line ${i + 1}:\n  page:    ${a[i]}\n  command: ${b[i]}\n(run npx tsx scripts/docs.ts)`,
        );
      }
    }
  });

  it('a stale block is noticed', async () => {
    const text =
      '<!-- generated: ipvs-sim lab dr --requests 1 | head -n 1 -->\n```text\nold\n```\n<!-- end -->\n';
    const fresh = await regenerate(text);
    expect(fresh).to.not.equal(text);
    expect(fresh).to.contain(
      '$ ipvs-sim lab dr --requests 1 | head -n 1\nLVS-DR lab: one LAN, 172.25.40.0/24, VIP 172.25.40.100\n',
    );
    expect(await regenerate(fresh)).to.equal(fresh);
  });

  it('refuses commands other than ipvs-sim and failing ones', async () => {
    let err: unknown = null;
    try {
      await runCommand('rm -rf /');
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain('runs ipvs-sim');
    err = null;
    try {
      await runCommand('ipvs-sim lab nope');
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain('exited with 2');
  });

  it('the pages link to each other and to pages that exist', () => {
    for (const p of PAGES) {
      const file = path.join(REPO, 'docs', p);
      expect(existsSync(file), p).to.equal(true);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue;
        expect(existsSync(path.resolve(path.dirname(file), target)), `${p} links to ${target}`).to.equal(
          true,
        );
      }
    }
    const index = readFileSync(path.join(REPO, 'docs/explain.md'), 'utf8');
    for (const p of PAGES.filter((x) => x !== 'explain.md')) expect(index, p).to.contain(`](${p})`);
  });
});
