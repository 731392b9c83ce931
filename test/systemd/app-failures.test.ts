import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectVerdict } from '../support/hook-tests.ts';
import { BedPorts, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// A unit that fails at start, or binds, answers once and dies: the hook fails with the exit reason and the app's own
// log lines, systemd is not left restarting it, and nginx is not touched.

const { blue, green } = BedPorts;
const unit = `portproof-fixture@${blue}.service`;
/** A port inside the container held by a process no deployment owns. */
const BusyPort = 9090;

describe('under systemd, an app that fails', () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-fail');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  /** ActiveState/SubState/NRestarts of the unit, as systemctl show prints them. */
  async function unitState(): Promise<{ active: string; sub: string; restarts: number }> {
    const show = await bed.container.systemctl('show', '--property=ActiveState,SubState,NRestarts', unit);
    expect(show.code, show.stderr).toBe(0);
    const values = Object.fromEntries(
      show.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    return { active: values.ActiveState!, sub: values.SubState!, restarts: Number(values.NRestarts) };
  }

  /** The app's log under the test's state dir (the default app.log). */
  function appLog(): string {
    return `${bed.stateDir}/fixture/app-${blue}.log`;
  }

  async function expectStoppedAndUntouched(): Promise<void> {
    const state = await unitState();
    // Stopped by the hook: not activating, not waiting in auto-restart for another try.
    expect(['inactive', 'failed']).toContain(state.active);
    expect(state.sub).not.toBe('auto-restart');
    expect((await bed.container.exec(['pgrep', '-f', `app.mjs --port=${blue}`])).code).toBe(1);
    expect(bed.livePort()).toBe(green);
  }

  it('exits at start ("bad jar"): the verdict has the exit code and the log line; the unit is stopped', async () => {
    const revision = bed.revision({ appFlags: ['--exit-at-start=3'] });
    const start = await bed.hook(revision, 'start');
    expectVerdict(start, 'ApplicationStart', 'FAILED', unit, /exited with code 3/);
    expect(start.stdout).toContain('Unable to access jarfile /opt/app/app.jar');
    await expectStoppedAndUntouched();
  });

  it('exits at start ("port in use"): the verdict quotes Spring\'s message; the unit is stopped', async () => {
    const holder = await bed.container.exec([
      'systemd-run',
      '--unit=pp-port-holder',
      '--collect',
      'python3',
      '-m',
      'http.server',
      '--bind=127.0.0.1',
      String(BusyPort),
    ]);
    expect(holder.code, holder.stderr).toBe(0);
    try {
      await bed.waitForAnswer((answer) => answer.status === 200, 20_000, `http://127.0.0.1:${BusyPort}/`);
      const revision = bed.revision({ appFlags: [`--bind-other=${BusyPort}`] });
      const start = await bed.hook(revision, 'start');
      expectVerdict(start, 'ApplicationStart', 'FAILED', unit, /exited with code 1/);
      expect(start.stdout).toContain(`Port ${BusyPort} was already in use`);
      await expectStoppedAndUntouched();
    } finally {
      await bed.container.systemctl('stop', 'pp-port-holder');
    }
  });

  it('killed by SIGKILL while start waits for the bind: start fails saying so; the unit is stopped', async () => {
    const revision = bed.revision({ appFlags: ['--bind-delay=20000'], start: { timeout: '40s' } });
    const starting = bed.hook(revision, 'start');
    // The app runs (and waits to bind) once systemd has a main PID for the unit and its log says so.
    let main = 0;
    await expect
      .poll(
        async () => {
          main = Number((await bed.container.systemctl('show', '-P', 'MainPID', unit)).stdout.trim());
          return main > 0 && (await bed.container.exec(['grep', '-q', 'Delaying', appLog()])).code === 0;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    expect((await bed.container.exec(['kill', '-KILL', String(main)])).code).toBe(0);
    const start = await starting;
    expectVerdict(start, 'ApplicationStart', 'FAILED', unit, /was killed by SIGKILL/);
    expect(start.stdout).toContain('Delaying the web server by 20000 ms');
    await expectStoppedAndUntouched();
  });

  it("a failed start names this run's exit, not an earlier run's of the same unit a moment before", async () => {
    const first = await bed.hook(bed.revision({ appFlags: ['--exit-at-start=3'] }), 'start');
    expectVerdict(first, 'ApplicationStart', 'FAILED', /exited with code 3/);
    // The same unit again, within the same second as a rule: the journal still holds the first run's exit.
    const second = await bed.hook(bed.revision({ appFlags: ['--exit-at-start=5'] }), 'start');
    expectVerdict(second, 'ApplicationStart', 'FAILED', unit, /exited with code 5/);
    await expectStoppedAndUntouched();
  });

  it('killed between start and validate: validate fails saying so, not with a new PID; nginx untouched', async () => {
    const revision = bed.revision({ versionTag: 'v1' });
    const start = await bed.hook(revision, 'start');
    expectVerdict(start, 'ApplicationStart', 'OK', ` as ${unit}`);
    const main = (await bed.container.systemctl('show', '-P', 'MainPID', unit)).stdout.trim();
    expect((await bed.container.exec(['kill', '-KILL', main])).code).toBe(0);
    const validate = await bed.hook(revision, 'validate');
    // Whether systemd has started the next run yet or is waiting to: never a silent new PID, and the first exit named.
    expectVerdict(validate, 'ValidateService', 'FAILED', /was killed by SIGKILL/);
    expect(validate.verdict).toContain(main);
    expect(bed.livePort()).toBe(green);
  });

  it('binds, answers health once, then exits: validate fails with the exit reason; nginx untouched', async () => {
    // --exit-after-health is the settle branch's fixture flag: without it the app never exits and validate passes.
    const revision = bed.revision({
      appFlags: ['--exit-after-health=1', '--exit-code=4'],
      health: { settle: '2s' },
    });
    const start = await bed.hook(revision, 'start');
    expectVerdict(start, 'ApplicationStart', 'OK', ` as ${unit}`);
    const validate = await bed.hook(revision, 'validate');
    expectVerdict(validate, 'ValidateService', 'FAILED', /exited with code 4/);
    expect(validate.stdout).toContain('lost the connection pool after 1 health answer(s)');
    expect(bed.livePort()).toBe(green);
    expect((await bed.get()).status).toBe(502);
  });
});
