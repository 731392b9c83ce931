import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HookRun } from '../../src/lab/agent.ts';
import { pollUntil } from '../../src/lab/net.ts';
import { FixtureAppPath } from '../support/app.ts';
import { expectVerdict } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type BedRevision, type SystemdBed } from '../support/systemd-bed.ts';

// systemd as real hosts run it (issue 18), each a test that failed before its fix: a unit of the host's own on the
// target port, a rollback after systemd restarted the kept version, a release ValidateService rejects, and hooks
// interrupted (SIGTERM, then SIGKILL 5 s later) in the middle of their work.

const { blue, green } = BedPorts;
const unitOf = (port: number): string => `portproof-fixture@${port}.service`;
const ForeignUnit = 'shop.service';
/** Restarts take RestartSec (5 s) and more on a loaded box: generous bounds, each waiting for an event. */
const EventMs = 30_000;
/** What CodeDeploy agent 2 waits between its SIGTERM and its SIGKILL on a hook timeout. */
const AgentKillAfterMs = 5000;

describe('under systemd, as real hosts run it', { timeout: 120_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-hosts');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
    await bed.container.systemctl('disable', '--now', ForeignUnit);
    fs.rmSync(path.join(bed.container.unitDir, ForeignUnit), { force: true });
  });

  const show = async (unit: string, property: string): Promise<string> =>
    (await bed.container.systemctl('show', '-P', property, unit)).stdout.trim();
  const isEnabled = async (unit: string): Promise<string> =>
    (await bed.container.systemctl('is-enabled', unit)).stdout.trim();
  const isActive = async (unit: string): Promise<string> =>
    (await bed.container.systemctl('is-active', unit)).stdout.trim();

  function readState(): { live?: number; processes: Record<string, { pid: number }> } {
    const file = path.join(bed.stateDir, 'fixture', 'state.json');
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { processes: {} };
  }

  /** Run a hook, and once `ready` holds, SIGTERM it (its PID from the app's lock) and SIGKILL it 5 s later. */
  async function interrupt(
    revision: BedRevision,
    hook: 'start' | 'validate',
    ready: () => Promise<boolean>,
    kill: boolean,
  ): Promise<HookRun> {
    const running = bed.hook(revision, hook);
    await pollUntil(ready, EventMs, `the ${hook} hook to reach the step to interrupt`);
    const lock = JSON.parse(fs.readFileSync(path.join(bed.stateDir, 'fixture', 'lock'), 'utf8')) as { pid: number };
    expect((await bed.container.exec(['kill', '-TERM', String(lock.pid)])).code).toBe(0);
    if (kill) {
      const ended = await Promise.race([running.then(() => true), sleep(AgentKillAfterMs).then(() => false)]);
      if (!ended) await bed.container.exec(['kill', '-KILL', String(lock.pid)]);
    }
    return running;
  }

  it('a unit portproof did not write holds the target port: named and refused, exit 2, nothing signalled', async () => {
    fs.writeFileSync(
      path.join(bed.container.unitDir, ForeignUnit),
      [
        '[Service]',
        `ExecStart=/usr/bin/node ${FixtureAppPath} --port=${blue} --version-tag=shop`,
        'Restart=always',
        'RestartSec=100ms',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
      ].join('\n'),
    );
    await bed.container.systemctl('daemon-reload');
    expect((await bed.container.systemctl('enable', '--now', ForeignUnit)).code).toBe(0);
    await pollUntil(async () => (await bed.get(`http://127.0.0.1:${blue}/`)).status === 200, EventMs, 'shop');
    const shopPid = Number(await show(ForeignUnit, 'MainPID'));

    const run = await bed.hook(bed.revision({ versionTag: 'v1' }), 'start');
    expect(run.verdict, run.stdout).toContain('portproof ApplicationStart FAILED:');
    expect(run.verdict).toMatch(new RegExp(`port ${blue} is held by PID ${shopPid} .* of shop\\.service`));
    expect(run.verdict).toMatch(/systemctl disable --now shop\.service.*app\.unit: shop\.service/);
    expect(run.code).toBe(2);
    expect(run.stdout).not.toMatch(/Sending SIG/);
    expect(Number(await show(ForeignUnit, 'MainPID'))).toBe(shopPid);
    expect(await show(ForeignUnit, 'NRestarts')).toBe('0');
    expect(await isActive(unitOf(blue))).not.toBe('active');
  });

  it('rollback after systemd restarted the kept version: its current run is proved, the restart named', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const v2 = bed.revision({ versionTag: 'v2' });
    expectVerdict((await bed.deploy(v2, v1)).last, 'ValidateService', 'OK', `nginx now → ${green}`);
    const before = Number(await show(unitOf(blue), 'MainPID'));
    expect((await bed.container.exec(['kill', '-KILL', String(before)])).code).toBe(0);
    let after = 0;
    await pollUntil(
      async () => {
        after = Number(await show(unitOf(blue), 'MainPID'));
        return after > 0 && after !== before && (await bed.get(`http://127.0.0.1:${blue}/`)).status === 200;
      },
      EventMs,
      'systemd to restart the kept version',
    );

    const rollback = await bed.hook(v2, 'validate', ['--port', String(blue)]);
    expectVerdict(
      rollback,
      'ValidateService',
      'OK',
      `port ${blue} owned by PID ${after} `,
      `${unitOf(blue)} was restarted since ApplicationStart (PID ${before} → ${after}`,
      `nginx now → ${blue}`,
    );
    expect(parseAnswer(await bed.get())).toMatchObject({ version: 'v1', pid: after });
    expect(readState().processes[String(blue)]?.pid).toBe(after);
  });

  it('a release ValidateService rejects is stopped, not left restarting next to the live app', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    // Binds, answers health once, dies: Restart=on-failure would bring it back again and again.
    const v2 = bed.revision({ versionTag: 'v2', appFlags: ['--exit-after-health=1', '--exit-code=4'] });
    const runs = await bed.deploy(v2, v1);
    expectVerdict(runs.start!, 'ApplicationStart', 'OK');
    expectVerdict(
      runs.last,
      'ValidateService',
      'FAILED',
      `stopped ${unitOf(green)}, so that it does not keep restarting`,
    );
    expect(await isActive(unitOf(green))).toBe('inactive');
    expect(readState().processes[String(green)]).toBeUndefined();
    expect(bed.livePort()).toBe(blue);
    expect(parseAnswer(await bed.get())?.version).toBe('v1');
  });

  it('systemctl failing after the switch is a WARNING in an OK verdict, not a failed deployment', async () => {
    const v1 = bed.revision({ versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    // The boot list made read-only: enable and disable both fail, as on a host whose /etc is read-only.
    const wants = '/etc/systemd/system/multi-user.target.wants';
    expect((await bed.container.exec(['mount', '--bind', wants, wants])).code).toBe(0);
    try {
      expect((await bed.container.exec(['mount', '-o', 'remount,bind,ro', wants])).code).toBe(0);
      const v2 = bed.revision({ versionTag: 'v2' });
      const runs = await bed.deploy(v2, v1);
      expectVerdict(
        runs.last,
        'ValidateService',
        'OK',
        `nginx now → ${green}`,
        /WARNING: could not take off the boot list: portproof-fixture@8081\.service/,
      );
      expect(parseAnswer(await bed.get())?.version).toBe('v2');
      expect(readState().live).toBe(green);
    } finally {
      await bed.container.exec(['umount', wants]);
    }
  });

  for (const kill of [false, true]) {
    const how = kill ? 'SIGTERM, then SIGKILL 5 s later' : 'SIGTERM';
    it(`ApplicationStart interrupted (${how}) while waiting for the bind: the unit is stopped, not recorded`, async () => {
      // Ignores SIGTERM: the unit's own stop takes its grace, longer than the hook has after the agent's SIGTERM.
      const flags = ['--bind-delay=60000', ...(kill ? ['--ignore-term'] : [])];
      const revision = bed.revision({
        versionTag: 'v1',
        appFlags: flags,
        start: { timeout: '50s' },
        stop: { grace: '8s' },
      });
      const run = await interrupt(
        revision,
        'start',
        async () => readState().processes[String(blue)] !== undefined && (await isActive(unitOf(blue))) === 'active',
        kill,
      );
      if (!kill)
        expectVerdict(run, 'ApplicationStart', 'FAILED', /interrupted by SIGTERM .*stopped portproof-fixture@/);
      // systemd finishes the stop the hook asked for, even when the hook was killed before it saw the end.
      // Failed with result 'timeout' when systemd had to SIGKILL it: stopped either way.
      const isDown = async () => ['inactive', 'failed'].includes(await isActive(unitOf(blue)));
      const stopped = pollUntil(isDown, EventMs, 'the unit to stop');
      await stopped.catch(async (error: Error) => {
        throw new Error(`${error.message}\n${run.stdout}\n${await bed.journal(unitOf(blue))}`);
      });
      expect(readState().processes[String(blue)]).toBeUndefined();
      expect(await isEnabled(unitOf(blue))).not.toBe('enabled');
      expect(bed.livePort()).toBe(green);
    });

    it(`ValidateService interrupted (${how}) mid-switch: nginx, state and boot list agree`, async () => {
      const v1 = bed.revision({ versionTag: 'v1' });
      expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
      const nginx = (parse(fs.readFileSync(v1.configPath, 'utf8')) as { nginx: Record<string, unknown> }).nginx;
      // nginx -t takes 30 s: the include names the new port, nginx has not reloaded, nothing is recorded yet.
      const slowTest = ['/bin/sh', '-c', 'sleep 30; exec "$@"', 'sh', ...(nginx.test as string[])];
      // Asking nginx which files it loads stays quick: only the test before the reload is slow.
      const dump = (nginx.test as string[]).map((word) => (word === '-t' ? '-T' : word));
      const v2 = bed.revision({ versionTag: 'v2', nginx: { ...nginx, test: slowTest, dump } });
      expectVerdict(await bed.hook(v1, 'stop'), 'ApplicationStop', 'OK');
      expectVerdict(await bed.hook(v2, 'start'), 'ApplicationStart', 'OK');
      const run = await interrupt(v2, 'validate', async () => bed.livePort() === green, kill);
      expect(run.code, run.stdout).not.toBe(0);
      if (!kill) expectVerdict(run, 'ValidateService', 'FAILED', /interrupted by SIGTERM .*nginx include put back/);
      // What nginx names, what the state records and what starts at boot are one port.
      await pollUntil(async () => bed.livePort() === blue, EventMs, 'the include back on blue');
      expect(readState().live).toBe(blue);
      // The undo's reload was confirmed before the hook ended: no "switching" mark is left for the next hook.
      if (!kill) expect((readState() as { switching?: unknown }).switching ?? null).toBeNull();
      expect(await isEnabled(unitOf(blue))).toBe('enabled');
      expect(await isEnabled(unitOf(green))).not.toBe('enabled');
      expect(parseAnswer(await bed.get())?.version).toBe('v1');
    });
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
