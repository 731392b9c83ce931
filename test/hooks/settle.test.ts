import { afterAll, describe, expect, it } from 'vitest';
import { confirmOwner } from '../../src/core/ownership/prove-owner.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import { pollUntil, waitForPort } from '../../src/lab/net.ts';
import { waitForExit } from '../../src/lab/processes.ts';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { httpGet, startApp } from '../support/app.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  remember,
  useBlueGreenBed,
  switchedTo,
} from '../support/hook-tests.ts';
import type { RevisionOptions } from '../support/deployment.ts';

// health.settle (DESIGN.md, Supervision): an app that binds, answers health once, then dies must not pass.

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;

useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

/** Answers health once, then logs why and exits with code 3 five seconds later: after a hook without the settle is done. */
const DiesAfterOneAnswer = ['--exit-after-health=1', '--exit-code=3', '--exit-delay=5000'];

/** Deploy v1 (healthy) to blue, then `v2` as given to green: stop, start and validate, as CodeDeploy runs them. */
async function deploySecond(options: Pick<RevisionOptions, 'appFlags' | 'health' | 'timeouts'>) {
  const first = await deployed({ ports: [blue, green], versionTag: 'v1', stateDir, nginx: nginxSection(nginx) });
  await first.revision.run('stop');
  expectVerdict(await first.revision.run('start'), 'ApplicationStart', 'OK');
  expectVerdict(await first.revision.run('validate'), 'ValidateService', 'OK', `nginx now → ${blue}`);
  remember(stateDir, blue);
  const include = nginx.readInclude();
  const { revision } = await deployed({
    ports: [blue, green],
    versionTag: 'v2',
    stateDir,
    nginx: nginxSection(nginx),
    ...options,
  });
  expectVerdict(await first.revision.run('stop'), 'ApplicationStop', 'OK');
  expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
  const pid = remember(stateDir, green);
  return { include, pid, validate: await revision.run('validate') };
}

async function versionBehindNginx(): Promise<string> {
  return (await httpGet(`${nginx.url}/`)).body.trim();
}

describe('health.settle, with the compiled hooks', () => {
  it('the app answers health once, then exits: validate fails within the settle naming the exit and its log; nginx untouched', async () => {
    const { include, pid, validate } = await deploySecond({ appFlags: DiesAfterOneAnswer, health: { settle: '30s' } });
    expectVerdict(
      validate,
      'ValidateService',
      'FAILED',
      `the new process on port ${green}, PID ${pid} (`,
      /exited within the 30\.0 s settle after answering health: "[^"]*Fatal: lost the connection pool .*exiting with code 3"/,
      `nothing listens on port ${green}`,
    );
    expect(validate.stdout).toMatch(/Settling: the same process must still own the port and answer health 30\.0 s/);
    expect(validate.stdout).toMatch(/last lines of .*app-\d+\.log:(\n {2}.*)*\n {2}.*exiting with code 3/);
    // Caught when it died, not at the end of the 30 s window.
    expect(validate.durationMs).toBeLessThan(25_000);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('health.settle 0 turns it off: the same app validates OK, then dies behind nginx', async () => {
    const { pid, validate } = await deploySecond({ appFlags: DiesAfterOneAnswer, health: { settle: 0 } });
    expectVerdict(validate, 'ValidateService', 'OK', `port ${green} owned by PID ${pid}`, `nginx now → ${green}`);
    expect(validate.verdict).not.toContain('still healthy');
    // The hazard the settle exists for: after the hook returned, the app exits and nginx points at nothing.
    await pollUntil(() => !isAlive(pid), 20_000, `PID ${pid} to exit after its one health answer`);
    expect((await httpGet(`${nginx.url}/`)).status).toBe(502);
  });

  it('a healthy app passes the settle: still the same process, still healthy, then nginx switches', async () => {
    const { pid, validate } = await deploySecond({ health: { settle: '1s' } });
    expectVerdict(
      validate,
      'ValidateService',
      'OK',
      new RegExp(`port ${green} owned by PID ${pid} .*; healthy \\(HTTP 200 .*\\); still healthy 1\\.0 s later; `),
      switchedTo(green, pid),
      `(previous ${blue} kept for rollback)`,
    );
    expect(await versionBehindNginx()).toContain('version=v2');
    expect(isAlive(pid)).toBe(true);
  });

  it('the app answers health once, then fails it: validate fails at the end of the settle with the answer; nginx untouched', async () => {
    const { include, validate } = await deploySecond({
      appFlags: ['--unhealthy-after-health=1'],
      health: { settle: '1s' },
    });
    expectVerdict(
      validate,
      'ValidateService',
      'FAILED',
      /http:\/\/127\.0\.0\.1:\d+\/actuator\/health answered health, then failed it 1\.0 s later: HTTP 503 .*"DOWN"/,
    );
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it("the hook's deadline comes before the settle ends: validate fails saying so, nginx untouched", async () => {
    const { include, validate } = await deploySecond({ health: { settle: '2m' }, timeouts: { ValidateService: 8 } });
    expectVerdict(
      validate,
      'ValidateService',
      'FAILED',
      /the hook's deadline came .* into the 2 m health\.settle .*raise the ValidateService timeout in appspec\.yml/,
    );
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });
});

describe('confirmOwner during the settle (live processes, from source)', () => {
  it('the recorded process exited and another took the port: named as not the recorded one, with the exit', async () => {
    const recorded = startApp([`--port=${green}`, '--version-tag=recorded']);
    await waitForPort(green, 5000);
    const info = readProcessInfo(recorded.pid)!;
    const { pid, startTime, bootId, command, user } = info;
    const startedAt = info.startedAt.toISOString();
    const record = { pid, startTime, bootId, command, user, startedAt, deploymentId: null, log: '' };
    const when = 'within the 5.0 s settle after answering health';
    expect(confirmOwner(record, green, undefined, when).info.pid).toBe(recorded.pid);
    recorded.child.kill('SIGKILL');
    await waitForExit(recorded, 5000);
    const successor = startApp([`--port=${green}`, '--version-tag=successor']);
    await waitForPort(green, 5000);
    expect(() => confirmOwner(record, green, undefined, when)).toThrow(
      new RegExp(
        `PID ${recorded.pid} .*, exited ${when}; port ${green} is held by PID ${successor.pid} .*, ` +
          'which is not the recorded process',
      ),
    );
  });
});
