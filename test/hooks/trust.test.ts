import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HookEntries } from '../../src/core/events.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { expectWaitedAtLeast } from '../support/durations.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  newStateDir,
  readState,
  remember,
} from '../support/hook-tests.ts';

afterEach(async () => stopAll());
afterAll(cleanUpHookTests);

const NobodyUid = 65534;

function stateFile(stateDir: string): string {
  return path.join(stateDir, 'fixture', 'state.json');
}

function editState(
  stateDir: string,
  edit: (state: { processes: Record<string, Record<string, unknown>> }) => void,
): void {
  const state = JSON.parse(fs.readFileSync(stateFile(stateDir), 'utf8'));
  edit(state);
  fs.writeFileSync(stateFile(stateDir), JSON.stringify(state));
}

/** Wait for a condition by polling, up to a bound no loaded machine comes near. */
async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Wait until a file exists and has content (the lock is written whole before it appears). */
async function waitForFile(file: string): Promise<void> {
  await waitFor(() => fs.existsSync(file) && fs.statSync(file).size > 0);
}

function readHooksLog(stateDir: string): Array<{ pid: number; msg?: string }> {
  const file = path.join(stateDir, 'fixture', 'hooks.log');
  if (!fs.existsSync(file)) return [];
  // Only whole lines: the last piece is empty, or a line still being written.
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l));
}

/** A live process that portproof did not start: what a reused PID looks like. */
function spawnBystander(identity: { uid?: number; gid?: number } = {}): number {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', ...identity });
  child.unref();
  return child.pid!;
}

/** Every file in the app's state directory with its content: "nothing written" is this, unchanged. */
function snapshotAppDir(stateDir: string): Record<string, string> {
  const dir = path.join(stateDir, 'fixture');
  // Files only: the releases directory holds the app's files, not what the hooks write.
  const names = fs
    .readdirSync(dir)
    .filter((name) => fs.statSync(path.join(dir, name)).isFile())
    .sort();
  return Object.fromEntries(names.map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')]));
}

describe('what the hooks trust', () => {
  it('state missing: validate trusts nothing and says so', async () => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port] });
    expectVerdict(
      await revision.run('validate'),
      'ValidateService',
      'FAILED',
      `no process recorded for port ${port}`,
      'nothing on port',
    );
  });

  it('state corrupt: validate names the file and trusts nothing', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    fs.mkdirSync(path.join(stateDir, 'fixture'), { recursive: true });
    fs.writeFileSync(stateFile(stateDir), '{"processes": {');
    expectVerdict(
      await revision.run('validate', { args: [`--port=${port}`] }),
      'ValidateService',
      'FAILED',
      /state\.json is unreadable or corrupt/,
    );
  });

  it('state from another boot: not trusted', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    editState(stateDir, (s) => (s.processes[String(port)]!.bootId = '00000000-0000-0000-0000-000000000000'));
    expectVerdict(
      await revision.run('validate'),
      'ValidateService',
      'FAILED',
      'was started before the last reboot; it is not trusted',
    );
  });

  it('state from another boot naming a live process (PID and start time right): stop does not signal it', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    const bystander = spawnBystander();
    const startTime = Number(fs.readFileSync(`/proc/${bystander}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    fs.mkdirSync(path.join(stateDir, 'fixture'));
    const record = { pid: bystander, startTime, bootId: '00000000-0000-0000-0000-000000000000', command: 'node app' };
    fs.writeFileSync(stateFile(stateDir), JSON.stringify({ lastStarted: port, processes: { [port]: record } }));
    expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK', 'nothing was listening');
    expect(isAlive(bystander)).toBe(true);
    process.kill(bystander, 'SIGKILL');
  });

  it('PID reused: validate names the stranger, stop never signals it', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const appPid = remember(stateDir, port);
    expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${appPid}`);
    // Fake a PID reuse: the record now names a live bystander whose start time differs from the recorded one.
    const bystander = spawnBystander();
    const recorded = readState(stateDir);
    fs.writeFileSync(
      stateFile(stateDir),
      JSON.stringify({
        ...recorded,
        lastStarted: port,
        processes: {
          [port]: {
            pid: bystander,
            startTime: 1,
            bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
            command: 'node app',
          },
        },
      }),
    );
    expectVerdict(
      await revision.run('validate'),
      'ValidateService',
      'FAILED',
      `PID ${bystander} now belongs to PID ${bystander} (sleep 60`,
    );
    expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK', 'nothing was listening');
    expect(isAlive(bystander)).toBe(true);
    process.kill(bystander, 'SIGKILL');
  });

  it.each([
    ['an unknown key', (c: Record<string, any>) => (c.health.retries = 3), 'unknown key health.retries'],
    [
      'a port out of range',
      (c: Record<string, any>) => (c.ports = [70000]),
      'ports.0: must be a whole number from 1 to 65535, got 70000',
    ],
    ['a bad duration', (c: Record<string, any>) => (c.stop.grace = 'soon'), 'stop.grace: "soon" is not a duration'],
  ])(
    'invalid config (%s): exit 2 (stop: a WARNING, exit 0), one line naming the key, nothing touched',
    async (_what, edit, expected) => {
      const port = await findFreePort();
      const { stateDir, revision } = await deployed({ ports: [port] });
      const config = parse(fs.readFileSync(revision.configPath, 'utf8'));
      edit(config);
      fs.writeFileSync(revision.configPath, stringify(config));
      for (const hook of HookEntries) {
        const run = await revision.run(hook);
        // ApplicationStop runs from the last installed revision: a broken one must not block the next (issue 19).
        expect(run.code).toBe(hook === 'stop' ? 0 : 2);
        expect(run.verdict).toMatch(hook === 'stop' ? /^portproof ApplicationStop WARNING: / : / FAILED: /);
        expect(run.lines).toHaveLength(1);
        expect(run.verdict).toContain(expected);
      }
      expect(fs.existsSync(path.join(stateDir, 'fixture'))).toBe(false);
    },
  );

  it('two hooks at once: the second waits on the lock, then fails naming the holder', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: ['--health=hang'],
      health: { timeout: '13s', requestTimeout: '1s' },
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const first = revision.run('validate');
    await waitForFile(path.join(stateDir, 'fixture', 'lock'));
    const second = await revision.run('stop');
    expectVerdict(
      second,
      'ApplicationStop',
      'FAILED',
      /another portproof hook is running: PID \d+ \(ValidateService, deployment d-\w+/,
    );
    expect(second.durationMs).toBeGreaterThanOrEqual(9000);
    expect(isAlive(readState(stateDir).processes[String(port)]!.pid)).toBe(true);
    await first;
  });

  it("appspec timeout shorter than the work: the hook's own verdict comes first", async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: ['--health=hang'],
      health: { timeout: '60s', requestTimeout: '1s' },
      timeouts: { ValidateService: 6 },
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const run = await revision.run('validate');
    expectVerdict(run, 'ValidateService', 'FAILED', /not healthy after /);
    // The hook's own deadline: 6 s appspec timeout less its 2 s margin, counted from the process start; the health
    // wait began later, so it reports about 4 s, and on a loaded box (a late timer, the last try) still under 6 s:
    // the verdict comes before CodeDeploy's timeout would.
    expect(expectWaitedAtLeast(run.verdict, 'not healthy after', 0)).toBeLessThan(6000);
    // Without the cap it would have waited the 60 s health timeout: a bound no loaded machine comes near.
    expect(run.durationMs).toBeLessThan(30_000);
  });

  it("appspec timeout of 99999999999 s: read as CodeDeploy's 3600 s, no timer overflow warning, no false failure", async () => {
    const port = await findFreePort();
    const timeouts = { ApplicationStart: 99999999999, ValidateService: 99999999999 };
    const { stateDir, revision } = await deployed({ ports: [port], timeouts });
    const start = await revision.run('start');
    expectVerdict(start, 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const validate = await revision.run('validate');
    expectVerdict(validate, 'ValidateService', 'OK');
    for (const run of [start, validate]) expect(run.stderr).not.toMatch(/TimeoutOverflowWarning|gave up/);
  });

  it("SIGTERM (the agent's timeout): says what it was waiting for and exits 1", async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: ['--health=hang'],
      health: { timeout: '30s', requestTimeout: '1s' },
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const pending = revision.run('validate');
    const lockFile = path.join(stateDir, 'fixture', 'lock');
    await waitForFile(lockFile);
    const holder = JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid as number;
    // Interrupt it while it checks health: the moment it says so in hooks.log (written synchronously).
    await waitFor(() =>
      readHooksLog(stateDir).some((e) => e.pid === holder && /^Checking health at/.test(String(e.msg))),
    );
    process.kill(holder, 'SIGTERM');
    const run = await pending;
    expectVerdict(
      run,
      'ValidateService',
      'FAILED',
      /interrupted by SIGTERM .* after \d[\d.]* m?s while checking health at http:\/\/127\.0\.0\.1:\d+\/actuator\/health/,
    );
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('run as non-root: unreadable owners are said, and never counted as proof', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const { revision } = await deployed({ ports: [port], stateDir });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    // The state directory is the hook user's own (a directory others could write would be refused).
    for (const dir of [stateDir, path.join(stateDir, 'fixture')]) fs.chownSync(dir, NobodyUid, NobodyUid);
    for (const file of fs.readdirSync(path.join(stateDir, 'fixture')))
      fs.chmodSync(path.join(stateDir, 'fixture', file), 0o666);
    fs.chmodSync(revision.dir, 0o755);
    const check = await revision.run('validate', { args: ['--check'], uid: NobodyUid, gid: NobodyUid });
    expect(check.stdout).toMatch(/owner that cannot be read/);
    const run = await revision.run('validate', { uid: NobodyUid, gid: NobodyUid });
    expectVerdict(run, 'ValidateService', 'FAILED', /whose owner cannot be read.*not proof/);
  });

  it('run as non-root with a state directory it cannot make: every hook refuses, exit 2 (usage), nothing signalled', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const { revision } = await deployed({ ports: [port], stateDir });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    fs.chmodSync(revision.dir, 0o755);
    // The revision's stateDir moved where only root may create it, as /var/lib/portproof is for any other user.
    const config = parse(fs.readFileSync(revision.configPath, 'utf8'));
    fs.writeFileSync(revision.configPath, stringify({ ...config, stateDir: path.join(stateDir, 'root-only') }));
    for (const hook of HookEntries) {
      const run = await revision.run(hook, { uid: NobodyUid, gid: NobodyUid });
      expect(run.verdict, run.stdout).toMatch(/FAILED: .*(cannot create the state directory|app\.log: directory)/);
      expect(run.code, run.stdout).toBe(2);
    }
    expect(isAlive(pid)).toBe(true);
  });

  it('drops to app.user when run as root', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], app: { user: 'nobody' } });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${pid}`);
  });

  it.each([
    [
      'writable by others (0777)',
      (dir: string) => fs.chmodSync(dir, 0o777),
      /state directory \S+ is writable by group and others \(owner root, mode 0777\).*fix it with: chmod go-w \S+$/,
    ],
    [
      'group-writable (0775)',
      (dir: string) => fs.chmodSync(path.join(dir, 'fixture'), 0o775),
      /state directory \S+\/fixture is writable by group \(owner root, mode 0775\).*: chmod go-w \S+\/fixture$/,
    ],
    [
      'owned by nobody',
      (dir: string) => fs.chownSync(dir, NobodyUid, NobodyUid),
      /state directory \S+ is owned by nobody \(uid 65534\), not root \(mode 0755\).*fix it with: chown root:root \S+$/,
    ],
  ])('state directory %s: every hook refuses, exit 2, nothing signalled or written', async (_what, spoil, expected) => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    spoil(stateDir);
    const before = snapshotAppDir(stateDir);
    for (const hook of HookEntries) {
      for (const args of [[], ['--check']]) {
        if (hook !== 'validate' && args.length > 0) continue;
        const run = await revision.run(hook, { args });
        expect(run.lines, `${hook} ${args.join(' ')}`).toHaveLength(1);
        expect(run.verdict).toMatch(/FAILED: state directory .*: whoever can write it can make the hooks signal/);
        expect(run.verdict).toMatch(expected);
        expect(run.code).toBe(2);
      }
    }
    expect(isAlive(pid)).toBe(true);
    expect(snapshotAppDir(stateDir)).toEqual(before);
  });

  it("forged state naming another user's process: stop does not signal it, validate says why not", async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const appPid = remember(stateDir, port);
    expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${appPid}`);
    // The record names a live process exactly (PID, start time, boot id), but one running as nobody, not as the app.
    const victim = spawnBystander({ uid: NobodyUid, gid: NobodyUid });
    const startTime = Number(fs.readFileSync(`/proc/${victim}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const forged = { pid: victim, startTime, bootId, command: 'node app', user: 'root' };
    editState(stateDir, (s) => (s.processes[String(port)] = forged));
    const unexpected = 'runs as nobody \\(uid 65534\\), not as root \\(no app.user\\)';
    const validate = await revision.run('validate', { args: [`--port=${port}`] });
    const named = `PID ${victim} \\(sleep 60, nobody, started [\\d:]+\\)`;
    expectVerdict(validate, 'ValidateService', 'FAILED', new RegExp(`${named}, ${unexpected}; it is not trusted`));
    const stop = await revision.run('stop');
    const notSignalled = `nothing was listening\\); not signalled the recorded ${named}: it ${unexpected}`;
    expectVerdict(stop, 'ApplicationStop', 'OK', new RegExp(notSignalled));
    expect(isAlive(victim)).toBe(true);
    process.kill(victim, 'SIGKILL');
  });
});
