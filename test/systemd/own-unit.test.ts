import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FixtureAppPath } from '../support/app.ts';
import { expectVerdict } from '../support/hook-tests.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// The user's own unit (app.unit), in place or as a template: portproof restarts it, proves the new MainPID owns the
// port, enables it, and never edits it; what survives its `systemctl stop` on the port is named and stopped.

const { blue, green } = BedPorts;
const Unit = 'fixture.service';
const Template = 'fixture@.service';

describe("the user's own unit (app.unit)", () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-own');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  /** Write the user's unit into the container's /etc/systemd/system and load it. */
  async function writeUnit(service: string[], name = Unit): Promise<string> {
    const text = [
      '[Unit]',
      'Description=The user own fixture unit',
      '[Service]',
      ...service,
      'Restart=on-failure',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(bed.container.unitDir, name), text);
    expect((await bed.container.systemctl('daemon-reload')).code).toBe(0);
    return text;
  }

  function ownUnitRevision(tag: string) {
    return bed.revision({ versionTag: tag, ports: [blue], nginx: undefined, app: { unit: Unit, command: undefined } });
  }

  async function mainPid(): Promise<number> {
    return Number((await bed.container.systemctl('show', '-P', 'MainPID', Unit)).stdout.trim());
  }

  it('each deployment restarts it: a new MainPID owns the port, the unit is enabled and left as written', async () => {
    const text = await writeUnit([`ExecStart=/usr/bin/node ${FixtureAppPath} --port=${blue} --version-tag=own`]);
    const v1 = ownUnitRevision('v1');
    const first = await bed.deploy(v1);
    expectVerdict(first.start!, 'ApplicationStart', 'OK', ` as ${Unit}`);
    expectVerdict(first.last, 'ValidateService', 'OK', `port ${blue} owned by PID ${await mainPid()}`);
    const before = await mainPid();

    const v2 = ownUnitRevision('v2');
    const second = await bed.deploy(v2, v1);
    expectVerdict(second.stop!, 'ApplicationStop', 'OK');
    expectVerdict(second.start!, 'ApplicationStart', 'OK', ` as ${Unit}`);
    const after = await mainPid();
    expect(after).not.toBe(before);
    expectVerdict(second.last, 'ValidateService', 'OK', `port ${blue} owned by PID ${after}`);
    expect(parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.pid).toBe(after);
    expect(await bed.isRunning(before)).toBe(false);
    expect((await bed.container.systemctl('is-enabled', Unit)).stdout.trim()).toBe('enabled');
    expect(fs.readFileSync(path.join(bed.container.unitDir, Unit), 'utf8')).toBe(text);
  });

  it('KillMode=process: the child that holds the port after systemctl stop is named and stopped', async () => {
    // The shell is the main process; the app is its child, which KillMode=process leaves running on stop.
    await writeUnit([
      'KillMode=process',
      `ExecStart=/bin/sh -c '/usr/bin/node ${FixtureAppPath} --port=${blue} --version-tag=own & wait'`,
    ]);
    const v1 = ownUnitRevision('v1');
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK');
    const child = parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.pid ?? 0;
    expect(child).toBeGreaterThan(0);
    expect(child).not.toBe(await mainPid());

    const v2 = ownUnitRevision('v2');
    const second = await bed.deploy(v2, v1);
    // systemd said it left the child behind: the scenario happened, and the stop hook still freed the port.
    expect(await bed.journal(Unit)).toMatch(
      new RegExp(`process ${child} \\(node\\) remains running after unit stopped`),
    );
    expectVerdict(second.stop!, 'ApplicationStop', 'OK', new RegExp(`PID ${child}\\b`));
    expect(await bed.isRunning(child)).toBe(false);
    expectVerdict(second.last, 'ValidateService', 'OK', `port ${blue}`);
    const answer = parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`));
    expect(answer?.pid).not.toBe(child);
  });

  it('a template (fixture@.service), blue/green: the instance is the port; the live one starts at boot', async () => {
    await writeUnit([`ExecStart=/usr/bin/node ${FixtureAppPath} --port=%i --version-tag=own`], Template);
    const revision = (tag: string) => bed.revision({ versionTag: tag, app: { unit: Template, command: undefined } });
    const v1 = revision('v1');
    const first = await bed.deploy(v1);
    expectVerdict(first.start!, 'ApplicationStart', 'OK', ` as fixture@${blue}.service`);
    expectVerdict(first.last, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const v2 = revision('v2');
    const second = await bed.deploy(v2, v1);
    expectVerdict(second.start!, 'ApplicationStart', 'OK', ` as fixture@${green}.service`);
    expectVerdict(second.last, 'ValidateService', 'OK', `nginx now → ${green}`);

    const instance = (port: number) => `fixture@${port}.service`;
    const livePid = Number((await bed.container.systemctl('show', '-P', 'MainPID', instance(green))).stdout.trim());
    expect(parseAnswer(await bed.get())?.pid).toBe(livePid);
    expect((await bed.container.systemctl('is-active', instance(blue))).stdout.trim()).toBe('active');
    expect((await bed.container.systemctl('is-enabled', instance(green))).stdout.trim()).toBe('enabled');
    expect((await bed.container.systemctl('is-enabled', instance(blue))).stdout.trim()).toBe('disabled');
  });
});
