import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectVerdict } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// Issue 19: the agent deletes old revision archives and spares only the one of its last Install, so the live
// release's archive can go. The unit runs from portproof's own release: a crash and a reboot still serve it.

const { blue, green } = BedPorts;
const unitOf = (port: number): string => `portproof-fixture@${port}.service`;
const ServeAgainMs = 30_000;

describe('under systemd, the live revision archive deleted', { timeout: 180_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-release');
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('a crash, then a reboot: systemd starts the live version from its release; --check names no problem', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const v2 = bed.revision({ versionTag: 'v2' });
    expectVerdict((await bed.deploy(v2, v1)).last, 'ValidateService', 'OK', `nginx now → ${green}`);
    // What the agent's cleanup does to the live release's archive after deployments that failed after Install.
    fs.rmSync(v2.dir, { recursive: true, force: true });
    const dir = (await bed.container.systemctl('show', '-P', 'WorkingDirectory', unitOf(green))).stdout.trim();
    expect(dir.startsWith(`${bed.stateDir}/fixture/releases/`)).toBe(true);

    const before = Number((await bed.container.systemctl('show', '-P', 'MainPID', unitOf(green))).stdout.trim());
    expect((await bed.container.exec(['kill', '-KILL', String(before)])).code).toBe(0);
    await bed.waitForAnswer((a) => parseAnswer(a)?.version === 'v2' && parseAnswer(a)?.pid !== before, ServeAgainMs);

    await bed.container.reboot();
    await bed.waitForAnswer((answer) => parseAnswer(answer)?.version === 'v2', ServeAgainMs);
    const report = await bed.check(v1);
    const live = report.ports.find((p) => p.port === green);
    expect(live, JSON.stringify(live)).toMatchObject({
      activeState: expect.stringMatching(/^active\b/),
      enabled: true,
    });
    expect(live?.unitProblem).toBeUndefined();
  });
});
