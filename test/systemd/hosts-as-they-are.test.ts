import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectVerdict } from '../support/hook-tests.ts';
import { hookArgv } from '../support/hooks.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';
import { FixtureAppPath } from '../support/app.ts';

// Hosts as they are (issue 25): a socket unit of the host's on a target port, through a reboot.

const { blue, green } = BedPorts;
const unitOf = (port: number): string => `portproof-fixture@${port}.service`;

describe('under systemd, hosts as they are', { timeout: 240_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-hosts');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  async function writeUnits(units: Record<string, string[]>): Promise<void> {
    for (const [name, lines] of Object.entries(units)) {
      fs.writeFileSync(path.join(bed.container.unitDir, name), `${lines.join('\n')}\n`);
    }
    expect((await bed.container.systemctl('daemon-reload')).code).toBe(0);
  }

  it('a socket unit on the target port: named with its command, by every hook and --check, through a reboot', async () => {
    await writeUnits({
      'shop.socket': ['[Socket]', `ListenStream=127.0.0.1:${blue}`, '[Install]', 'WantedBy=sockets.target'],
      'shop.service': ['[Unit]', 'Requires=shop.socket', '[Service]', 'ExecStart=/usr/bin/sleep infinity'],
    });
    expect((await bed.container.systemctl('enable', '--now', 'shop.socket')).code).toBe(0);
    const fix = 'systemctl disable --now shop.socket';
    try {
      // Listening now: refused before anything is signalled, with the exact command.
      const v1 = bed.revision({ versionTag: 'v1' });
      const refused = await bed.deploy(v1);
      expect(refused.last.verdict, refused.last.stdout).toMatch(
        /ApplicationStart FAILED: port \d+ is held by systemd \(PID 1\) for socket unit shop\.socket, which listens/,
      );
      expect(refused.last.verdict).toContain(`run "${fix}"`);

      // The operator stops it but leaves it enabled: the deployment goes on, and says who wins the port at boot.
      await bed.container.systemctl('stop', 'shop.socket');
      const runs = await bed.deploy(v1);
      expectVerdict(runs.start!, 'ApplicationStart', 'OK', /shop\.socket .*takes port \d+ at boot .*enabled/);
      expectVerdict(runs.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
      expect(runs.last.verdict).not.toContain(`${unitOf(blue)} starts at boot`);
      expect(runs.last.verdict).toContain(`${unitOf(blue)} will not get port ${blue} at boot: socket unit shop.socket`);
      expect(runs.last.verdict).toContain(fix);
      const report = await bed.check(v1);
      expect(JSON.stringify(report.bootRivals)).toContain('"unit":"shop.socket"');

      // The reboot proves the warning: the socket takes the port back, and --check still says so.
      await bed.container.reboot();
      expect((await bed.container.systemctl('is-active', 'shop.socket')).stdout.trim()).toBe('active');
      const after = await bed.container.exec([...checkArgv(bed, v1)], { env: { PORTPROOF_BUNDLE_ROOT: v1.dir } });
      // The closing note quotes these.
      console.log(
        [
          refused.last.verdict,
          runs.start!.verdict,
          runs.last.verdict,
          after.stdout.trim().split('\n').slice(-3).join('\n'),
        ].join('\n'),
      );
      expect(after.stdout).toMatch(/WARNING: socket unit shop\.socket listens on port \d+ now and takes it at boot/);
      expect(after.stdout.trim().split('\n').at(-1)).toContain(fix);

      // Retired with that command: nothing is said any more.
      expect((await bed.container.exec(fix.split(' '))).code).toBe(0);
      const clean = await bed.check(v1);
      expect(clean.bootRivals).toEqual([]);
    } finally {
      await bed.container.systemctl('disable', '--now', 'shop.socket', 'shop.service');
      for (const name of ['shop.socket', 'shop.service'])
        fs.rmSync(path.join(bed.container.unitDir, name), { force: true });
      await bed.container.systemctl('daemon-reload');
    }
  });

  it('a stateDir on a tmpfs is refused for a unit that starts at boot, naming the mount; nothing started', async () => {
    // /run is a tmpfs on every systemd host (and /tmp on Amazon Linux 2023): a reboot empties it.
    await bed.container.exec(['mkdir', '-p', '-m', '0755', '/run/portproof-volatile']);
    const revision = bed.revision({ versionTag: 'v1', stateDir: '/run/portproof-volatile' });
    const run = await bed.hook(revision, 'start');
    console.log(run.verdict);
    expect(run.code, run.stdout).toBe(2);
    expect(run.verdict).toMatch(
      /stateDir: \/run\/portproof-volatile is on tmpfs \(mounted at \/run\); a reboot empties it/,
    );
    expect((await bed.container.systemctl('is-active', unitOf(blue))).stdout.trim()).not.toBe('active');
    const releases = await bed.container.exec(['find', '/run/portproof-volatile', '-name', 'releases']);
    expect(releases.stdout.trim()).toBe('');
  });

  const ownUnit = (unit: string, extra: Record<string, unknown> = {}) =>
    bed.revision({ ports: [blue], nginx: undefined, app: { unit, command: undefined }, ...extra });
  const Install = ['Restart=on-failure', '[Install]', 'WantedBy=multi-user.target'];

  it("the user's unit with a User= that does not exist: the verdict says systemd's step USER (217)", async () => {
    await writeUnits({
      'fixture-nouser.service': [
        '[Service]',
        'User=pp-no-such-user',
        `ExecStart=/usr/bin/node ${FixtureAppPath} --port=${blue}`,
        ...Install,
      ],
    });
    const run = await bed.hook(ownUnit('fixture-nouser.service'), 'start');
    console.log(run.verdict);
    expectVerdict(run, 'ApplicationStart', 'FAILED', /could not be started by systemd \(step USER, exit code 217\)/);
  });

  it("the user's unit whose ExecStartPre fails: the verdict names the command and its exit", async () => {
    await writeUnits({
      'fixture-pre.service': [
        '[Service]',
        'ExecStartPre=/usr/bin/false',
        `ExecStart=/usr/bin/node ${FixtureAppPath} --port=${blue}`,
        ...Install,
      ],
    });
    const run = await bed.hook(ownUnit('fixture-pre.service'), 'start');
    console.log(run.verdict);
    expectVerdict(run, 'ApplicationStart', 'FAILED', /its ExecStartPre \/usr\/bin\/false exited with code 1/);
  });

  it('a forking unit with a fixed WorkingDirectory: a rollback says what a restart runs, and a restart runs it', async () => {
    await bed.container.exec(['sh', '-c', 'mkdir -p /srv/shop && echo v1 > /srv/shop/VERSION']);
    const start =
      `/usr/bin/node ${FixtureAppPath} --port=%i --version-tag=$$(cat VERSION) </dev/null >/dev/null 2>&1 & ` +
      'echo $$! > /run/fixture-shop-%i.pid';
    await writeUnits({
      'fixture-shop@.service': [
        '[Service]',
        'Type=forking',
        'PIDFile=/run/fixture-shop-%i.pid',
        'WorkingDirectory=/srv/shop',
        `ExecStart=/bin/sh -c '${start}'`,
        ...Install,
      ],
    });
    const revision = (tag: string) =>
      bed.revision({ versionTag: tag, app: { unit: 'fixture-shop@.service', command: undefined } });
    const r1 = revision('v1');
    expectVerdict((await bed.deploy(r1)).last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    // The appspec's files: section copies the next revision over the same directory.
    await bed.container.exec(['sh', '-c', 'echo v2 > /srv/shop/VERSION']);
    const r2 = revision('v2');
    expectVerdict((await bed.deploy(r2, r1)).last, 'ValidateService', 'OK', `nginx now → ${green}`);

    const back = await bed.hook(r2, 'validate', ['--port', String(blue)]);
    console.log(back.verdict);
    expectVerdict(back, 'ValidateService', 'OK', `nginx now → ${blue}`);
    expect(back.verdict).toContain(`a restart of fixture-shop@${blue}.service runs what /srv/shop holds now`);
    expect(parseAnswer(await bed.get())?.version).toBe('v1');

    // The note is the truth: after a restart the rolled-back port serves what /srv/shop holds, v2.
    expect((await bed.container.systemctl('restart', `fixture-shop@${blue}.service`)).code).toBe(0);
    const answer = await bed.waitForAnswer((a) => parseAnswer(a) !== null, 30_000);
    expect(parseAnswer(answer)?.version).toBe('v2');
  });
});

/** `validate --check` (text) as a person runs it inside the container: the bundle's hook, or from source. */
function checkArgv(_bed: SystemdBed, revision: { dir: string }): string[] {
  if (process.env.PORTPROOF_TEST_FROM_SOURCE === '1') return [...hookArgv('validate'), '--check'];
  return [path.join(revision.dir, 'hooks', 'validate'), '--check'];
}
