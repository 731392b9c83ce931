import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/lab/net.ts';
import { FixtureAppPath } from '../support/app.ts';
import { expectVerdict } from '../support/hook-tests.ts';
import { hookArgv } from '../support/hooks.ts';
import { BedPorts, parseAnswer, startSystemdBed, type SystemdBed } from '../support/systemd-bed.ts';

// Hosts set up otherwise than the happy path (issue 18, items 4, 6 and 7), each a test that failed before its fix: a
// start script that backgrounds its app, an upgrade from direct with a log in the app user's own directory, hooks not
// run as root, a masked unit, and a state directory wiped under a running unit.

const { blue } = BedPorts;
const unitOf = (port: number): string => `portproof-fixture@${port}.service`;
const NobodyUid = 65534;
/** A restart takes RestartSec (5 s) and more on a loaded box. */
const EventMs = 30_000;

describe('under systemd, hosts set up their own way', { timeout: 120_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-setups');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  const inPlace = (extra: Record<string, unknown> = {}) =>
    bed.revision({ versionTag: 'v1', ports: [blue], nginx: undefined, ...extra });

  /** `background-start.sh OUT node app.mjs …`: nohup … & and exit 0, as start scripts are written. */
  const backgrounding = (supervisor: string) => ({
    supervisor,
    command: [
      path.join(path.dirname(FixtureAppPath), 'background-start.sh'),
      path.join(bed.scratch, 'background.out'),
      '/usr/bin/node',
      FixtureAppPath,
      '--port={port}',
      '--version-tag=bg',
    ],
  });

  it('a start script that backgrounds its app, app.supervisor: systemd: refused before anything is stopped', async () => {
    const v1 = inPlace();
    expectVerdict((await bed.deploy(v1)).last, 'ValidateService', 'OK');
    const before = (await bed.container.systemctl('show', '-P', 'MainPID', unitOf(blue))).stdout.trim();
    const run = await bed.hook(inPlace({ app: backgrounding('systemd') }), 'start');
    expect(run.verdict, run.stdout).toMatch(
      /FAILED: .*background-start\.sh line \d+ \("nohup .*&"\) puts the app in the background.*exec/,
    );
    expect(run.code).toBe(2);
    expect((await bed.container.systemctl('show', '-P', 'MainPID', unitOf(blue))).stdout.trim()).toBe(before);
  });

  it('a start script that backgrounds its app, auto: started directly, and the verdict says why', async () => {
    const runs = await bed.deploy(inPlace({ app: backgrounding('auto') }), undefined, { killMode: 'process' });
    expectVerdict(runs.start!, 'ApplicationStart', 'OK', /supervisor: direct; WARNING: .*background-start\.sh line/);
    expectVerdict(runs.last, 'ValidateService', 'OK', `port ${blue} owned by`);
    expect(parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.version).toBe('bg');
  });

  it('upgrading from direct: a log in the app user own directory keeps working, auto stays direct, said', async () => {
    const logs = path.join(bed.scratch, 'home-app');
    fs.mkdirSync(logs, { recursive: true });
    fs.chownSync(logs, NobodyUid, NobodyUid);
    const revision = inPlace({ app: { log: path.join(logs, 'app-{port}.log') } });
    // A direct app outlives its hook only when the agent's unit leaves it (KillMode=process).
    const runs = await bed.deploy(revision, undefined, { killMode: 'process' });
    expectVerdict(
      runs.start!,
      'ApplicationStart',
      'OK',
      /supervisor: direct; WARNING: app\.supervisor auto chose direct, not systemd: app\.log: /,
    );
    expectVerdict(runs.last, 'ValidateService', 'OK', `port ${blue} owned by`);
    expect((await bed.container.systemctl('cat', unitOf(blue))).code).not.toBe(0);
    expect(parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.version).toBe('v1');
  });

  it('hooks not run as root under systemd: refused by preflight, nothing touched (stop: a WARNING, exit 0)', async () => {
    const revision = inPlace();
    expectVerdict((await bed.deploy(revision)).last, 'ValidateService', 'OK');
    const before = (await bed.container.systemctl('show', '-P', 'MainPID', unitOf(blue))).stdout.trim();
    // The agent unpacks a revision readable by all; mkdtemp made this one root's alone.
    fs.chmodSync(revision.dir, 0o755);
    fs.chmodSync(revision.configPath, 0o644);
    const argv = process.env.PORTPROOF_TEST_FROM_SOURCE === '1' ? hookArgv('stop') : [`${revision.dir}/hooks/stop`];
    const run = await bed.container.exec(
      ['setpriv', `--reuid=${NobodyUid}`, `--regid=${NobodyUid}`, '--clear-groups', ...argv],
      { env: { PORTPROOF_BUNDLE_ROOT: revision.dir } },
    );
    // ApplicationStop never blocks the next deployment over its config: it stops nothing and says why, exit 0.
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /ApplicationStop WARNING: .*auto chose systemd: PID 1 is systemd, which needs the hooks/,
    );
    expect((await bed.container.systemctl('show', '-P', 'MainPID', unitOf(blue))).stdout.trim()).toBe(before);
  });

  it('a masked unit: refused by preflight, exit 2, and the mask is left in place', async () => {
    const unit = unitOf(blue);
    expect((await bed.container.systemctl('mask', unit)).code).toBe(0);
    try {
      const run = await bed.hook(inPlace(), 'start');
      expect(run.verdict, run.stdout).toMatch(/portproof ApplicationStart FAILED: .*is masked .*systemctl unmask/);
      expect(run.code).toBe(2);
      expect(fs.readlinkSync(path.join(bed.container.unitDir, unit))).toBe('/dev/null');
    } finally {
      await bed.container.systemctl('unmask', unit);
    }
  });

  it("the state directory's files wiped under a running unit: systemd still brings the app back after a crash", async () => {
    // The log outside the state directory: systemd cannot append to a file in a directory that is gone.
    const logs = path.join(bed.scratch, 'logs');
    fs.mkdirSync(logs, { recursive: true, mode: 0o755 });
    const revision = inPlace({ app: { log: path.join(logs, 'app-{port}.log') } });
    expectVerdict((await bed.deploy(revision)).last, 'ValidateService', 'OK');
    const before = Number((await bed.container.systemctl('show', '-P', 'MainPID', unitOf(blue))).stdout.trim());
    // state.json, the lock, hooks.log and the unit's env file go; releases/ holds the files the app runs from, and
    // deleting it is deleting the app (--check then warns that the release is gone).
    const appDir = path.join(bed.stateDir, 'fixture');
    for (const entry of fs.readdirSync(appDir).filter((name) => name !== 'releases'))
      fs.rmSync(path.join(appDir, entry), { recursive: true, force: true });
    expect((await bed.container.exec(['kill', '-KILL', String(before)])).code).toBe(0);
    await pollUntil(
      async () => ![undefined, before].includes(parseAnswer(await bed.get(`http://127.0.0.1:${blue}/`))?.pid),
      EventMs,
      'systemd to restart the app',
    );
  });
});
