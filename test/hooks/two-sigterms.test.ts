import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runHookAsAgent2 } from '../../src/lab/agent2.ts';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { httpGet } from '../support/app.ts';
import { hookArgv } from '../support/hooks.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  nginxSection,
  readState,
  remember,
  useBlueGreenBed,
} from '../support/hook-tests.ts';

// The CodeDeploy agent's unit stopping sends a hook two SIGTERMs within a millisecond (systemd to the cgroup, the
// agent to the process group), and agent 2 SIGKILL 5 s later. At each step of ValidateService the hook must still
// end with its own verdict, and nginx (what it serves), the include and the state must agree afterwards.

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;
useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

/** What nginx -T prints now, replayed later: the switch's own config test can then be a slow stand-in. */
function savedDump(): string[] {
  const dumpFile = path.join(nginx.prefix, 'dump.txt');
  fs.writeFileSync(dumpFile, execFileSync(nginx.testCommand[0]!, [...nginx.testCommand.slice(1, -1), '-T']));
  return ['cat', dumpFile];
}

/** Resolves once the hook with `pid` logged the beginning of a step matching `step` (hooks.log is written in sync). */
async function stepBegun(pid: number, step: RegExp, also: () => boolean = () => true): Promise<void> {
  const file = path.join(stateDir, 'fixture', 'hooks.log');
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(5)) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [];
    if (lines.map((l) => JSON.parse(l)).some((e) => e.pid === pid && step.test(String(e.msg))) && also()) return;
  }
  throw new Error(`hook PID ${pid} never began ${step}`);
}

/** The port the include names. */
function includePort(): number {
  return Number(/:(\d+);/.exec(nginx.readInclude())?.[1]);
}

/** The port whose app answers through nginx (v1 runs on blue, v2 on green), asked a few times. */
async function servedPort(): Promise<number> {
  const seen = new Set<number>();
  for (let i = 0; i < 4; i += 1) seen.add((await httpGet(`${nginx.url}/`)).body.includes('version=v1') ? blue : green);
  return seen.size === 1 ? [...seen][0]! : -1;
}

interface Step {
  name: string;
  step: RegExp;
  nginx?: () => Record<string, unknown>;
  afterWrite?: boolean;
  health?: Record<string, unknown>;
}

const Steps: Step[] = [
  { name: 'before the switch (settling)', step: /^Settling/, health: { settle: '20s' } },
  {
    name: 'mid-switch (include written, nginx -t running)',
    step: /^Switching nginx to port/,
    nginx: () => ({ test: ['sleep', '2'], dump: savedDump() }),
    afterWrite: true,
  },
  {
    name: 'during the proof through nginx',
    step: /^Proving requests through/,
    nginx: () => ({ url: `${nginx.url}/` }),
  },
];

describe('two SIGTERMs 1 ms apart during ValidateService, then SIGKILL 5 s later', () => {
  it.each(Steps)('$name: the verdict is the last line; include, nginx and state agree', async (step) => {
    const v1 = (await deployed({ ports: [blue, green], versionTag: 'v1', stateDir, nginx: nginxSection(nginx) }))
      .revision;
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK');
    expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
    expectVerdict(await v1.run('validate'), 'ValidateService', 'OK', `nginx now → ${blue}`);
    remember(stateDir, blue);
    const { revision: v2 } = await deployed({
      ports: [blue, green],
      versionTag: 'v2',
      stateDir,
      nginx: nginxSection(nginx, step.nginx?.() ?? {}),
      health: step.health,
      appFlags: ['--slow-root=1500'],
    });
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    const who = { deploymentId: 'd-two-sigterms', applicationName: 'fixture-app', groupName: 'g', groupId: 'g-1' };
    const written = () => !step.afterWrite || includePort() === green;
    const run = await runHookAsAgent2(v2.dir, 'validate', who, {
      timeoutSeconds: 300,
      restrictEnv: false,
      twice: true,
      argv: hookArgv('validate'),
      terminateWhen: (pid) => stepBegun(pid, step.step, written),
    });
    const state = readState(stateDir) as unknown as { live: number; switching?: unknown };
    const served = await servedPort();
    const agreed = `include → ${includePort()}, nginx serves ${served === -1 ? 'both' : served}, state → ${state.live}`;
    console.info(`[${step.name}] last line: ${run.verdict}\n  afterwards: ${agreed} (blue ${blue}, green ${green})`);
    expect(run.termAfterMs).not.toBeNull();
    expect(run.killed, run.stdout).toBe(false);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.verdict).toMatch(/^portproof ValidateService FAILED: interrupted by SIGTERM .* while /);
    expect([includePort(), served, state.live]).toEqual([blue, blue, blue]);
    expect(state.switching ?? null).toBeNull();
  });
});
