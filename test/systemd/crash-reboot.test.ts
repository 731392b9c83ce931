import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectVerdict, probedTo } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// Between deployments: systemd restarts a crashed app, and after a reboot starts the live version, not the previous.

const { blue, green } = BedPorts;
const unitOf = (port: number): string => `portproof-fixture@${port}.service`;
/** Restarts and boots take a moment on a loaded box: generous bounds, each waiting for an event. */
const ServeAgainMs = 30_000;

// A restart after RestartSec, a reboot and its units, each with two deployments: more than a minute on a loaded box.
describe('under systemd, between deployments', { timeout: 120_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-crash');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  async function mainPid(unit: string): Promise<number> {
    return Number((await bed.container.systemctl('show', '-P', 'MainPID', unit)).stdout.trim());
  }

  it('kill -9 of the app: systemd restarts it, nginx serves again, --check names the new PID and restart', async () => {
    const revision = bed.revision({ versionTag: 'v1' });
    const runs = await bed.deploy(revision);
    expectVerdict(runs.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const before = await mainPid(unitOf(blue));
    expect(parseAnswer(await bed.get())?.pid).toBe(before);

    const killed = await bed.container.exec(['kill', '-KILL', String(before)]);
    expect(killed.code, killed.stderr).toBe(0);

    // Restart=on-failure: a new main process, serving through nginx again.
    await bed.waitForAnswer((answer) => ![undefined, before].includes(parseAnswer(answer)?.pid), ServeAgainMs);
    const after = await mainPid(unitOf(blue));
    expect(parseAnswer(await bed.get())?.pid).toBe(after);

    const report = await bed.check(revision);
    const port = report.ports.find((p) => p.port === blue);
    expect(port, JSON.stringify(report)).toMatchObject({
      supervisor: 'systemd',
      unit: unitOf(blue),
      // systemd's ActiveState, which the report may follow with the SubState: "active (running)".
      activeState: expect.stringMatching(/^active\b/),
      mainPid: after,
      enabled: true,
    });
    expect(port?.restarts).toBeGreaterThanOrEqual(1);
    // systemd's own restart of the recorded unit is adopted and reported: a monitor sees 0, not "unrecorded owner".
    console.info(`after a crash restart: exit ${report.status}: ${report.restart}`);
    expect(report.status, JSON.stringify(report.reasons)).toBe(0);
    expect(report.restart).toMatch(
      new RegExp(`^${unitOf(blue)} restarted by systemd at \\S+ \\(PID ${before} → ${after}, `),
    );
  });

  it('reboot: the live version serves through nginx again; the previous version is not started', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const v2 = bed.revision({ versionTag: 'v2' });
    expectVerdict((await bed.deploy(v2, v1)).last, 'ValidateService', 'OK', `nginx now → ${green}`);
    // Before the reboot both run: the previous stays up for a one-switch rollback.
    expect((await bed.container.systemctl('is-active', unitOf(blue))).stdout.trim()).toBe('active');

    await bed.container.reboot();

    // nginx's own unit is enabled, so it is back too; the live unit started at boot and binds a moment later.
    await bed.waitForAnswer((answer) => parseAnswer(answer)?.version === 'v2', ServeAgainMs);
    expect(bed.livePort()).toBe(green);
    expect((await bed.container.systemctl('is-active', unitOf(green))).stdout.trim()).toBe('active');
    const previous = await bed.container.systemctl('is-active', unitOf(blue));
    expect(previous.stdout.trim()).toBe('inactive');
    const direct = await bed.get(`http://127.0.0.1:${blue}/`);
    expect(direct.status, direct.body).toBe(0);
    expect(direct.error).toMatch(/refused|Failed to connect/i);

    // What --check reports after the boot: the live unit enabled and running, the previous neither.
    const report = await bed.check(v2);
    const [live, previousPort] = [green, blue].map((port) => report.ports.find((p) => p.port === port));
    expect(live, JSON.stringify(live)).toMatchObject({
      activeState: expect.stringMatching(/^active\b/),
      enabled: true,
    });
    expect(previousPort, JSON.stringify(previousPort)).toMatchObject({
      activeState: expect.stringMatching(/^inactive\b/),
      enabled: false,
    });
    // The boot's new run of the live unit is adopted and reported, exit 0; nginx (started at boot) serves it.
    console.info(
      `after a reboot: exit ${report.status}: ${report.restart}; ${(report.nginx as { probe: string }).probe}`,
    );
    expect(report.status, JSON.stringify(report.reasons)).toBe(0);
    expect(report.restart).toMatch(
      new RegExp(`^${unitOf(green)} restarted by systemd at \\S+ \\(PID \\d+ → \\d+, after a reboot`),
    );
    // The PID the restart was adopted as: the probe must reach it (or say it could not be observed, no keep-alive).
    const adopted = Number(String(report.restart).match(/→ (\d+)/)?.[1]);
    expect((report.nginx as { probe: string }).probe).toMatch(probedTo(adopted));
  });

  it('rollback with validate --port moves the enablement: after a reboot the rolled-back version serves', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const v2 = bed.revision({ versionTag: 'v2' });
    expectVerdict((await bed.deploy(v2, v1)).last, 'ValidateService', 'OK', `nginx now → ${green}`);

    const rollback = await bed.hook(v2, 'validate', ['--port', String(blue)]);
    expectVerdict(rollback, 'ValidateService', 'OK', `nginx now → ${blue}`);
    expect((await bed.container.systemctl('is-enabled', unitOf(blue))).stdout.trim()).toBe('enabled');
    expect((await bed.container.systemctl('is-enabled', unitOf(green))).stdout.trim()).toBe('disabled');

    await bed.container.reboot();

    await bed.waitForAnswer((answer) => parseAnswer(answer)?.version === 'v1', ServeAgainMs);
    expect((await bed.container.systemctl('is-active', unitOf(green))).stdout.trim()).toBe('inactive');
  });
});
