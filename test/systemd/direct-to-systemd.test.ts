import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHammer, type HammerResult } from '../../src/lab/hammer.ts';
import { expectVerdict, readState } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// A live host moves from the direct launch to systemd: the directly started app on the live port keeps serving until
// nginx has switched away from it, is then stopped safely as today, and its port is taken over by a unit. Load runs
// through nginx the whole time, inside the container's network.

const { blue, green } = BedPorts;

// Three deployments and the load's own waits: more than vitest's default minute on a loaded box.
describe('direct → systemd on a live host under load', { timeout: 180_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-move');
  });
  afterAll(async () => {
    await bed?.stop();
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
});
