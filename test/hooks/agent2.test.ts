import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HookEntry } from '../../src/core/events.ts';
import { localDeploymentId, restartRevision, runHookAsAgent2, type Agent2Run } from '../../src/lab/agent2.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { cleanUpHookTests, deployed, isAlive, readState, remember } from '../support/hook-tests.ts';

// The CodeDeploy agent 2 (issue 19), played by the lab's stand-in: hooks run from the revision's own hooks/ with the
// allowlisted environment, `local-<pid>` IDs, RESTART deployments, and SIGTERM then SIGKILL 5 s later on a timeout.
// The agent 1.8 runner's tests stay as they are.

const HooksDir = path.resolve(import.meta.dirname, '../../hooks');
const extraDirs: string[] = [];
afterEach(async () => stopAll());
afterAll(async () => {
  await cleanUpHookTests();
  for (const dir of extraDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let nextPid = 40_000;
function identity() {
  return { deploymentId: localDeploymentId(nextPid++), applicationName: 'fixture-app', groupName: 'g', groupId: 'g-1' };
}

function agent2(
  dir: string,
  hook: HookEntry,
  who = identity(),
  timeoutSeconds = 300,
  terminateWhen?: (pid: number) => Promise<void>,
) {
  return runHookAsAgent2(dir, hook, who, { timeoutSeconds, restrictEnv: true, terminateWhen });
}

function expectAgent2Verdict(run: Agent2Run, event: string, outcome: 'OK' | 'FAILED', part = ''): void {
  expect(run.verdict, run.stdout + run.stderr).toContain(`portproof ${event} ${outcome}: ${part}`);
}

/** Resolves once the hook with `pid` logged that it began a step matching `step` (hooks.log is written in sync). */
async function stepBegun(stateDir: string, pid: number, step: RegExp): Promise<void> {
  const file = path.join(stateDir, 'fixture', 'hooks.log');
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(20)) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [];
    if (lines.map((l) => JSON.parse(l)).some((e) => e.pid === pid && step.test(String(e.msg)))) return;
  }
  throw new Error(`hook PID ${pid} never began ${step}`);
}

describe('agent 2: IDs, environment, RESTART', () => {
  it('local-<pid> IDs with the allowlisted environment, then a RESTART of the same revision: ordinary deployments', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], hooksDir: HooksDir });
    const first = identity();
    expectAgent2Verdict(await agent2(revision.dir, 'start', first), 'ApplicationStart', 'OK');
    expectAgent2Verdict(await agent2(revision.dir, 'validate', first), 'ValidateService', 'OK');
    const record = () => readState(stateDir).processes[String(port)] as unknown as Record<string, string>;
    expect(record()).toMatchObject({ deploymentId: first.deploymentId, release: first.deploymentId });
    // RESTART (agent 2.1): the archive again, hard-linked, under a new ID; ApplicationStop runs from the last one.
    const again = restartRevision(revision.dir);
    extraDirs.push(again);
    const config = (dir: string) => fs.statSync(path.join(dir, 'portproof.yml')).ino;
    expect(config(again)).toBe(config(revision.dir));
    const second = identity();
    expectAgent2Verdict(await agent2(revision.dir, 'stop', second), 'ApplicationStop', 'OK', `port ${port} free after`);
    const start = await agent2(again, 'start', second);
    expectAgent2Verdict(start, 'ApplicationStart', 'OK');
    expect(start.scriptsLog.at(-1)).toMatch(/^\d{4}-\d\d-\d\dT\S+ \[stdout\]portproof ApplicationStart OK: /);
    expectAgent2Verdict(await agent2(again, 'validate', second), 'ValidateService', 'OK');
    expect(record()).toMatchObject({ deploymentId: second.deploymentId, release: second.deploymentId });
    const pid = remember(stateDir, port);
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe(path.join(stateDir, 'fixture', 'releases', second.deploymentId));
  });
});

/** Each hook at its slowest step: what makes it wait, and the words of the step it waits in. */
const SlowSteps: Array<{
  hook: HookEntry;
  event: string;
  setup: Partial<Parameters<typeof deployed>[0]>;
  step: RegExp;
}> = [
  {
    hook: 'stop',
    event: 'ApplicationStop',
    setup: { appFlags: ['--ignore-term'], stop: { grace: '60s' } },
    step: /^Waiting for it to exit and port \d+ to be free/,
  },
  {
    hook: 'start',
    event: 'ApplicationStart',
    setup: { appFlags: ['--never-bind'], start: { timeout: '60s' } },
    step: /^Waiting for PID \d+ to listen on port/,
  },
  {
    hook: 'validate',
    event: 'ValidateService',
    setup: { appFlags: ['--health=hang'], health: { timeout: '60s', requestTimeout: '1s' } },
    step: /^Checking health at/,
  },
];

/** A deployment whose `hook` will sit in its slowest step; the app already started where the hook needs one. */
async function deployForSlowStep(slow: (typeof SlowSteps)[number], timeoutSeconds: number) {
  const port = await findFreePort();
  const timeouts = {
    ApplicationStop: timeoutSeconds,
    ApplicationStart: timeoutSeconds,
    ValidateService: timeoutSeconds,
  };
  const { stateDir, revision } = await deployed({ ports: [port], hooksDir: HooksDir, timeouts, ...slow.setup });
  if (slow.hook !== 'start') {
    // The app the slow hook works on, started as an ordinary ApplicationStart (never-bind is start's own case).
    const start = await agent2(revision.dir, 'start');
    expectAgent2Verdict(start, 'ApplicationStart', 'OK');
  }
  return { port, stateDir, revision };
}

describe('agent 2: SIGTERM, then SIGKILL 5 s later', () => {
  it.each(SlowSteps)(
    '$hook: its own deadline ends it before the appspec timeout; agent 2 never signals it',
    async (slow) => {
      const { revision } = await deployForSlowStep(slow, 8);
      const run = await agent2(revision.dir, slow.hook, identity(), 8);
      expect(run.verdict).toMatch(new RegExp(`^portproof ${slow.event} (OK|FAILED): `));
      expect(run.termAfterMs, run.stdout).toBeNull();
      expect(run.killed).toBe(false);
    },
  );

  it.each(SlowSteps)(
    '$hook: SIGTERM at its slowest step; its own verdict and the lock released before SIGKILL',
    async (slow) => {
      const { port, stateDir, revision } = await deployForSlowStep(slow, 300);
      const run = await agent2(revision.dir, slow.hook, identity(), 300, (pid) => stepBegun(stateDir, pid, slow.step));
      expect(run.termAfterMs).not.toBeNull();
      expect(run.killed, run.stdout).toBe(false);
      expect(run.code).toBe(1);
      expect(run.verdict).toMatch(new RegExp(`^portproof ${slow.event} FAILED: interrupted by SIGTERM .* while `));
      expect(fs.existsSync(path.join(stateDir, 'fixture', 'lock'))).toBe(false);
      const record = readState(stateDir).processes[String(port)];
      // Start stops what it started and had not proved; stop and validate leave the recorded app as it was, recorded.
      if (slow.hook === 'start') expect(record === undefined || !isAlive(record.pid)).toBe(true);
      else expect(record && isAlive(record.pid)).toBe(true);
    },
  );
});
