import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectVerdict, readState } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// Issue 12's reason: the CodeDeploy agent's unit has KillMode=control-group, so what a hook leaves in the agent's
// cgroup dies with it. Each hook here runs in a transient unit that ends the same way.

const { blue, green } = BedPorts;

describe('hooks run in the agent-like unit (KillMode=control-group)', () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-agent');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  it('under systemd, two blue/green deployments serve through nginx after every hook unit ended', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    const first = await bed.deploy(v1);
    expectVerdict(first.start!, 'ApplicationStart', 'OK', ` as portproof-fixture@${blue}.service`);
    expect(first.start!.stdout).toMatch(/supervisor: systemd/);
    expectVerdict(first.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    expect(parseAnswer(await bed.get())?.version).toBe('v1');

    const v2 = bed.revision({ versionTag: 'v2' });
    const second = await bed.deploy(v2, v1);
    expectVerdict(second.start!, 'ApplicationStart', 'OK', ` as portproof-fixture@${green}.service`);
    expectVerdict(second.last, 'ValidateService', 'OK', `nginx now → ${green}`);

    // Every hook's unit has ended (systemd-run --wait returns after it stopped): the app lives in its own unit.
    const answer = await bed.get();
    expect(answer.status, answer.error).toBe(200);
    expect(parseAnswer(answer)?.version).toBe('v2');
    const live = `portproof-fixture@${green}.service`;
    const previous = `portproof-fixture@${blue}.service`;
    expect((await bed.container.systemctl('is-active', live, previous)).stdout.split('\n')).toEqual([
      'active',
      'active',
      '',
    ]);
    // The live port's unit starts at boot; the previous one keeps running for a rollback but does not.
    expect((await bed.container.systemctl('is-enabled', live)).stdout.trim()).toBe('enabled');
    expect((await bed.container.systemctl('is-enabled', previous)).stdout.trim()).toBe('disabled');
    const mainPid = (await bed.container.systemctl('show', '-P', 'MainPID', live)).stdout.trim();
    expect(parseAnswer(answer)?.pid).toBe(Number(mainPid));
    const cgroup = await bed.container.exec(['cat', `/proc/${mainPid}/cgroup`]);
    expect(cgroup.stdout).toMatch(new RegExp(`^0::/system\\.slice/.*${live.replace(/[.@]/g, '\\$&')}$`, 'm'));
  });

  it('under direct, the app dies when the start hook unit ends: the hazard systemd removes', async () => {
    const revision = bed.revision({ versionTag: 'v1', app: { supervisor: 'direct' } });
    const start = await bed.hook(revision, 'start');
    expectVerdict(start, 'ApplicationStart', 'OK', `port ${blue}`);
    expect(start.verdict).not.toMatch(/\.service/);
    const pid = readState(bed.stateDir).processes[String(blue)]!.pid;

    // setsid left the session, not the cgroup: the hook's unit took the app with it (its SIGTERM handler may still be
    // closing the server as systemd-run returns).
    await expect
      .poll(() => bed.isRunning(pid), { timeout: 10_000, message: `PID ${pid} outlived the hook's unit` })
      .toBe(false);
    const validate = await bed.hook(revision, 'validate');
    expectVerdict(validate, 'ValidateService', 'FAILED');
    expect(bed.livePort()).toBe(green);
    expect((await bed.get()).status).toBe(502);
  });
});
