/**
 * Test helpers for the control layer: a scheduler registry of do-nothing
 * schedulers with the kernel's names (the real ones live in src/ipvs/sched/),
 * a fresh set-up target, and the oracle scenarios' files.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ipvs } from '../../src/ipvs/ctl.js';
import { FwmarkRules } from '../../src/ipvs/fwmark.js';
import { Host } from '../../src/ipvs/host.js';
import type { SchedulerRegistry } from '../../src/ipvs/sched/scheduler.js';
import { namesOnlyRegistry } from '../../src/control/schedulers.js';
import { Sysctls } from '../../src/ipvs/sysctl.js';
import type { SetupTarget } from '../../src/control/setup.js';

export const STUB_SCHEDULER_NAMES = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'mh',
  'fo',
  'ovf',
  'twos',
] as const;

/** A registry with every kernel scheduler name, each doing nothing. */
export function stubRegistry(): SchedulerRegistry {
  return namesOnlyRegistry(STUB_SCHEDULER_NAMES);
}

/** A fresh director to apply a set-up to. */
export function makeTarget(): SetupTarget {
  const sysctl = new Sysctls();
  return {
    host: new Host(),
    sysctl,
    ipvs: new Ipvs(stubRegistry(), () => 4, sysctl),
    fwmarks: new FwmarkRules(),
  };
}

const here = fileURLToPath(new URL('.', import.meta.url));
export const SCENARIO_DIR = join(here, '..', 'oracle', 'scenarios');

export interface Scenario {
  name: string;
  setup: string;
  dests: string;
  stats: string;
  conns: string;
}

/** Every oracle scenario with its set-up and the three ipvsadm listings. */
export function scenarios(): Scenario[] {
  return readdirSync(SCENARIO_DIR)
    .filter((d) => existsSync(join(SCENARIO_DIR, d, 'setup')))
    .sort()
    .map((name) => {
      const dir = join(SCENARIO_DIR, name);
      const read = (f: string) => readFileSync(join(dir, f), 'utf8');
      return {
        name,
        setup: read('setup'),
        dests: read('expected/ipvs-dests.txt'),
        stats: read('expected/ipvs-stats.txt'),
        conns: read('expected/ipvs-conns.txt'),
      };
    });
}
