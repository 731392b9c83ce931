import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHammer, type HammerResult } from '../../src/lab/hammer.ts';
import { expectVerdict, readState } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// A live host moves from the direct launch to systemd (and back): the app on the live port keeps serving until nginx
// has switched away from it, is then stopped safely as any listener, and its port is taken over under the new
// supervisor. Load runs through nginx the whole time, inside the container's network.

const { blue, green } = BedPorts;

// Three deployments and the load's own waits: more than vitest's default minute on a loaded box.
describe('moving between supervisors on a live host under load', { timeout: 180_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-move');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  it('zero failed requests through nginx while two systemd deployments replace the direct app', async () => {
    // v1 was started directly by an agent whose unit has KillMode=process (the change proposed upstream, unmerged):
    // the only way a direct app outlives its hooks, and the host this test begins from.
    const v1 = bed.revision({ versionTag: 'v1', app: { supervisor: 'direct' } });
    const first = await bed.deploy(v1, undefined, { killMode: 'process' });
    expectVerdict(first.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const directPid = readState(bed.stateDir).processes[String(blue)]!.pid;
    expect(parseAnswer(await bed.get())?.pid).toBe(directPid);

    const hammer = startHammer(`http://127.0.0.1:${BedPorts.listen}/`, {
      launcher: bed.container.enterArgv(),
      maxDurationMs: 120_000,
    });
    let result: HammerResult;
    try {
      await hammer.waitUntil((counts) => (counts.byVersion.v1 ?? 0) > 20, 20_000);

      // The first systemd deployment takes the idle port; the direct app keeps the live one until the switch.
      const v2 = bed.revision({ versionTag: 'v2', app: { supervisor: 'systemd' } });
      const second = await bed.deploy(v2, v1);
      expectVerdict(second.start!, 'ApplicationStart', 'OK', ` as portproof-fixture@${green}.service`);
      expectVerdict(second.last, 'ValidateService', 'OK', `nginx now → ${green}`);
      await hammer.waitUntil((counts) => (counts.byVersion.v2 ?? 0) > 20, 20_000);

      // The second takes the port the direct app still holds: stopped as any listener, then the unit starts there.
      const v3 = bed.revision({ versionTag: 'v3', app: { supervisor: 'systemd' } });
      const third = await bed.deploy(v3, v2);
      expectVerdict(third.stop!, 'ApplicationStop', 'OK', `PID ${directPid}`);
      expectVerdict(third.start!, 'ApplicationStart', 'OK', ` as portproof-fixture@${blue}.service`);
      expectVerdict(third.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
      await hammer.waitUntil((counts) => (counts.byVersion.v3 ?? 0) > 20, 20_000);
    } finally {
      // Stopped whatever happened, so a failed step fails the test with its own message, not a stray worker.
      result = await hammer.stop();
    }
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    expect(Object.keys(result.byVersion).sort()).toEqual(['v1', 'v2', 'v3']);
    console.log(`direct → systemd under load: ${result.sent} requests, ${JSON.stringify(result.byVersion)}`);
    expect(await bed.isRunning(directPid)).toBe(false);
    const units = await bed.container.systemctl('is-active', `portproof-fixture@${blue}.service`);
    expect(units.stdout.trim()).toBe('active');
  });

  it('systemd → direct (the reverse): zero failed requests; the unit on the port is stopped for good', async () => {
    const v1 = bed.revision({ versionTag: 'v1', app: { supervisor: 'systemd' } });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const unit = `portproof-fixture@${blue}.service`;
    const unitPid = Number((await bed.container.systemctl('show', '-P', 'MainPID', unit)).stdout.trim());

    const hammer = startHammer(`http://127.0.0.1:${BedPorts.listen}/`, {
      launcher: bed.container.enterArgv(),
      maxDurationMs: 120_000,
    });
    let result: HammerResult;
    try {
      await hammer.waitUntil((counts) => (counts.byVersion.v1 ?? 0) > 20, 20_000);
      // Direct apps outlive their hooks only under an agent unit with KillMode=process.
      const agent = { killMode: 'process' } as const;
      const v2 = bed.revision({ versionTag: 'v2', app: { supervisor: 'direct' } });
      expectVerdict((await bed.deploy(v2, v1, agent)).last, 'ValidateService', 'OK', `nginx now → ${green}`);
      await hammer.waitUntil((counts) => (counts.byVersion.v2 ?? 0) > 20, 20_000);
      // The unit still holds blue: the direct stop frees the port of it as of any listener.
      const v3 = bed.revision({ versionTag: 'v3', app: { supervisor: 'direct' } });
      const third = await bed.deploy(v3, v2, agent);
      expectVerdict(third.stop!, 'ApplicationStop', 'OK', `PID ${unitPid}`);
      expectVerdict(third.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
      await hammer.waitUntil((counts) => (counts.byVersion.v3 ?? 0) > 20, 20_000);
    } finally {
      result = await hammer.stop();
    }
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    expect(Object.keys(result.byVersion).sort()).toEqual(['v1', 'v2', 'v3']);
    // Not restarted by systemd behind the direct app's back, and not started at the next boot.
    const state = await bed.container.systemctl(
      'show',
      '--property=ActiveState,SubState,NRestarts,UnitFileState',
      unit,
    );
    console.log(`systemd → direct: ${unit} ${state.stdout.trim().split('\n').join(', ')}`);
    expect(state.stdout).toMatch(/ActiveState=(inactive|failed)/);
    expect(state.stdout).toContain('NRestarts=0');
    expect(state.stdout).toContain('UnitFileState=disabled');
  }, 180_000);
});
