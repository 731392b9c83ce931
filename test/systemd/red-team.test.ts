import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FixtureAppPath } from '../support/app.ts';
import { expectVerdict } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';
import { ensureUserWithGroup } from '../support/users.ts';

// What a red team did to the systemd supervisor, each a test that failed before its fix: a socket unit on the port
// (PID 1 holds it), an old run's process left in the unit's cgroup, a crash restarted at once during the start, a
// unit that never finishes starting, one that ignores its stop, and one that cannot be enabled.

const { blue } = BedPorts;
const GroupsUser = 'pp-sd-groups';
const ExtraGroup = 'pp-sd-extra';

const App = `/usr/bin/node ${FixtureAppPath} --port=${blue}`;

describe('under systemd, what a red team tried', () => {
  let bed: SystemdBed;
  let extraGid = 0;
  beforeAll(async () => {
    // Before the boot: the container reads /etc/passwd and /etc/group as they are when it starts.
    extraGid = ensureUserWithGroup(GroupsUser, ExtraGroup);
    bed = await startSystemdBed('pp-red');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  /** The user's own unit file (and any companion, a .socket) in the container's /etc/systemd/system. */
  async function writeUnits(units: Record<string, string[]>): Promise<void> {
    for (const [name, lines] of Object.entries(units)) {
      fs.writeFileSync(path.join(bed.container.unitDir, name), `${lines.join('\n')}\n`);
    }
    expect((await bed.container.systemctl('daemon-reload')).code).toBe(0);
  }

  const ownUnit = (unit: string, extra: Record<string, unknown> = {}) =>
    bed.revision({ ports: [blue], nginx: undefined, app: { unit, command: undefined }, ...extra });

  it('a socket unit holds the port: PID 1 is never signalled; the stop fails naming it', async () => {
    await writeUnits({
      'sockapp.socket': ['[Socket]', `ListenStream=127.0.0.1:${blue}`],
      'sockapp.service': ['[Service]', 'ExecStart=/usr/bin/sleep infinity'],
    });
    expect((await bed.container.systemctl('start', 'sockapp.socket')).code).toBe(0);
    const run = await bed.hook(ownUnit('sockapp.service'), 'stop');
    // Refused as a unit of the host's (exit 2), with the command that retires it.
    expect(run.verdict, run.stdout).toMatch(
      /ApplicationStop FAILED: port \d+ is held by systemd \(PID 1\) for socket unit sockapp\.socket.*PID 1 never is/,
    );
    expect(run.verdict).toContain('run "systemctl disable --now sockapp.socket"');
    expect(run.code).toBe(2);
    expect(run.lines.join('\n')).not.toMatch(/Sending SIG\w+ to PID 1 /);
    expect((await bed.container.systemctl('is-active', 'sockapp.socket')).stdout.trim()).toBe('active');
    await bed.container.systemctl('stop', 'sockapp.socket');
  });

  it("a process an earlier run left in the unit's cgroup (KillMode=process) is not the new run's", async () => {
    // The old run leaves a child that binds the port once the new run has started (an event, not a sleep: a busy
    // machine moves every step); the new run binds only after 40 s.
    await bed.container.exec(['rm', '-f', '/tmp/legacy-new', '/tmp/legacy-started']);
    await writeUnits({
      'legacy.service': [
        '[Service]',
        'KillMode=process',
        "ExecStart=/bin/sh -c 'test -f /tmp/legacy-new && { touch /tmp/legacy-started; exec " +
          `${App} --version-tag=new --bind-delay=40000; }; ` +
          `(until test -f /tmp/legacy-started; do sleep 0.1; done; exec ${App} --version-tag=leftover) & ` +
          `exec ${App} --version-tag=old'`,
      ],
    });
    const first = await bed.deploy(ownUnit('legacy.service', { start: { timeout: '6s' } }));
    expectVerdict(first.last, 'ValidateService', 'OK');
    await bed.container.exec(['touch', '/tmp/legacy-new']);
    const second = await bed.deploy(ownUnit('legacy.service', { start: { timeout: '6s' } }));
    // The leftover binds during the new start: it is named as the holder, never recorded or proved as the new app.
    expectVerdict(second.last, 'ApplicationStart', 'FAILED', /did not listen on port \d+ .*is held by PID \d+ /);
    const holder = /is held by PID (\d+) /.exec(second.last.verdict)?.[1];
    const command = await bed.container.exec(['cat', `/proc/${holder}/cmdline`]);
    expect(command.stdout).toContain('--version-tag=leftover');
    await bed.container.exec(['rm', '-f', '/tmp/legacy-new', '/tmp/legacy-started']);
  });

  it('a crash restarted at once (RestartSec=0) during the start fails it with the first exit', async () => {
    await writeUnits({
      'flappy.service': [
        '[Service]',
        'Restart=always',
        'RestartSec=0',
        `ExecStart=/bin/sh -c 'test -f /tmp/flapped || { touch /tmp/flapped; echo "FATAL: first run" >&2; exit 3; }; ` +
          `exec ${App} --version-tag=second'`,
      ],
    });
    await bed.container.exec(['rm', '-f', '/tmp/flapped']);
    const run = await bed.hook(ownUnit('flappy.service'), 'start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', /flappy\.service exited with code 3.*restarted it/);
    expect((await bed.container.systemctl('is-active', 'flappy.service')).stdout.trim()).not.toMatch(/^active/);
  });

  it('a unit that never finishes starting (Type=notify, no READY) fails at start.timeout, not at systemctl’s', async () => {
    await writeUnits({
      'slow.service': ['[Service]', 'Type=notify', 'NotifyAccess=all', `ExecStart=${App} --version-tag=slow`],
    });
    const started = Date.now();
    const run = await bed.hook(ownUnit('slow.service', { start: { timeout: '4s' } }), 'start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', /slow\.service was still starting \(activating\/start\) after/);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect((await bed.container.systemctl('is-active', 'slow.service')).stdout.trim()).not.toMatch(/^activ/);
  });

  it('a unit that ignores its stop (TimeoutStopSec=infinity) gets SIGKILL after stop.grace', async () => {
    await writeUnits({
      'stubborn.service': ['[Service]', 'TimeoutStopSec=infinity', `ExecStart=${App} --version-tag=s --ignore-term`],
    });
    const revision = ownUnit('stubborn.service', { stop: { grace: '2s' } });
    expectVerdict((await bed.deploy(revision)).last, 'ValidateService', 'OK');
    const run = await bed.hook(revision, 'stop');
    expectVerdict(run, 'ApplicationStop', 'OK', /stopped PID \d+ .* by stopping stubborn\.service/);
    expect(run.lines.join('\n')).toMatch(/still stopping after 2\.0 s grace: SIGKILL to its cgroup/);
  });

  it('a unit without [Install] is not claimed to start at boot: the verdict warns', async () => {
    await writeUnits({ 'static.service': ['[Service]', `ExecStart=${App} --version-tag=static`] });
    const runs = await bed.deploy(ownUnit('static.service'));
    expectVerdict(runs.last, 'ValidateService', 'OK', /WARNING: static\.service will not start at boot \(it is static/);
    expect(parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.version).toBe('static');
  });

  it('--check warns when the release a unit runs from is gone; the revision deleted by the agent is not', async () => {
    const v1 = bed.revision({ ports: [blue], nginx: undefined, versionTag: 'v1' });
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK');
    const v2 = bed.revision({ ports: [blue], nginx: undefined, versionTag: 'v2' });
    // CodeDeploy keeps five revisions: the unit runs from portproof's release, not from the agent's archive.
    fs.rmSync(v1.dir, { recursive: true, force: true });
    expect((await bed.check(v2)).ports[0]?.unitProblem).toBeUndefined();
    const release = (
      await bed.container.systemctl('show', '-P', 'WorkingDirectory', `portproof-fixture@${blue}.service`)
    ).stdout.trim();
    fs.rmSync(release, { recursive: true, force: true });
    const [port] = (await bed.check(v2)).ports;
    expect(port?.unitProblem).toBe(`its WorkingDirectory ${release} is gone: a crash or a reboot cannot start it`);
  });

  it("the unit portproof writes runs the app as app.user with that user's supplementary groups", async () => {
    const revision = bed.revision({ ports: [blue], nginx: undefined, app: { user: GroupsUser } });
    // systemd enters the release directory as the user (a direct start enters it as root): a 0700 one is refused first.
    fs.chmodSync(revision.dir, 0o700);
    const refused = await bed.hook(revision, 'start');
    expect(refused.code).toBe(2);
    expect(refused.verdict).toContain(`app.cwd: ${GroupsUser} cannot enter ${revision.dir} (mode 0700`);
    fs.chmodSync(revision.dir, 0o755);
    expectVerdict((await bed.deploy(revision)).last, 'ValidateService', 'OK');
    const unit = `portproof-fixture@${blue}.service`;
    const pid = (await bed.container.systemctl('show', '-P', 'MainPID', unit)).stdout.trim();
    const status = (await bed.container.exec(['cat', `/proc/${pid}/status`])).stdout;
    expect(status).toMatch(new RegExp(`^Groups:.*\\b${extraGid}\\b`, 'm'));
    expect(status).toMatch(/^Uid:\t(\d+)\t/m);
    expect((await bed.container.exec(['stat', '-c', '%U', `/proc/${pid}`])).stdout.trim()).toBe(GroupsUser);
  });

  it('a unit systemd cannot even start (no such WorkingDirectory) is named with the step, not just an exit code', async () => {
    await writeUnits({ 'nodir.service': ['[Service]', 'WorkingDirectory=/nonexistent-pp', `ExecStart=${App}`] });
    const run = await bed.hook(ownUnit('nodir.service'), 'start');
    expectVerdict(
      run,
      'ApplicationStart',
      'FAILED',
      /nodir\.service could not be started by systemd \(step CHDIR, exit code 200\).*Failed at step CHDIR/,
    );
  });
});
