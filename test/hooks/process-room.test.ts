import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pollUntil, waitForPort } from '../../src/lab/net.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { spawnTracked, stopAll } from '../../src/lab/processes.ts';
import { FixtureAppPath } from '../support/app.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, remember } from '../support/hook-tests.ts';

// The process room's holes a red team found: the app log's path, what exec refuses, an app.user change.

const NobodyUid = 65534;
const temps: string[] = [];
const mounts: string[] = [];
afterEach(async () => stopAll());
afterAll(async () => {
  for (const dir of mounts.splice(0)) spawnSync('umount', ['-l', dir]);
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  await cleanUpHookTests();
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** v1 running on a fresh port: what a failed v2 start must leave running. */
async function runningV1(app: Record<string, unknown> = {}) {
  const port = await findFreePort();
  const { stateDir, revision } = await deployed({ ports: [port], versionTag: 'v1', app });
  expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
  return { port, stateDir, oldPid: remember(stateDir, port) };
}

describe('the app log is reached without following a link', () => {
  it('the log directory swapped for a link: exit 2 naming the link, nothing made where it points', async () => {
    const port = await findFreePort();
    const home = tempDir('portproof-uhome-');
    fs.chownSync(home, NobodyUid, NobodyUid);
    const rootOnly = tempDir('portproof-rootonly-');
    fs.chmodSync(rootOnly, 0o700);
    // What nobody can do in a home it owns: rm -r logs; ln -s /root-only-dir logs.
    fs.symlinkSync(rootOnly, path.join(home, 'logs'));
    fs.lchownSync(path.join(home, 'logs'), NobodyUid, NobodyUid);
    const app = { user: 'nobody', log: path.join(home, 'logs', 'app-{port}.log') };
    const { revision } = await deployed({ ports: [port], app });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    const file = `${home}/logs/app-${port}.log`;
    expect(run.verdict).toContain(`app.log: ${file}: ${home}/logs is a symbolic link (to ${rootOnly})`);
    expect(fs.readdirSync(rootOnly)).toEqual([]);
  });
});

describe('what exec or the log would refuse is found before the old app is stopped', () => {
  it('a NUL byte in an app.env value: exit 2 naming the key, the old app still running', async () => {
    const { port, stateDir, oldPid } = await runningV1();
    const app = { env: { GREETING: 'a\0b' } };
    const { revision } = await deployed({ ports: [port], versionTag: 'v2', stateDir, app });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain('app.env.GREETING contains a NUL byte');
    expect(run.verdict).not.toContain('portproof bug');
    expect(isAlive(oldPid)).toBe(true);
  });

  it('an argument of 140,000 bytes (E2BIG): exit 2 naming app.command, the old app still running', async () => {
    const { port, stateDir, oldPid } = await runningV1();
    // The fixture command, with one more argument far over MAX_ARG_STRLEN.
    const appFlags = [`--pad=${'x'.repeat(140_000)}`];
    const { revision } = await deployed({ ports: [port], versionTag: 'v2', stateDir, appFlags });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toMatch(/app\.command\[\d+\] is 14000\d bytes; Linux refuses one argument or variable over/);
    expect(isAlive(oldPid)).toBe(true);
  });

  it('a log directory that is a dangling link: exit 2 naming app.log and the link', async () => {
    const { port, stateDir, oldPid } = await runningV1();
    const dir = tempDir('portproof-dangling-');
    fs.symlinkSync('/nonexistent-portproof-logs', path.join(dir, 'logs'));
    const app = { log: path.join(dir, 'logs', 'app-{port}.log') };
    const { revision } = await deployed({ ports: [port], versionTag: 'v2', stateDir, app });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain(`${dir}/logs is a symbolic link (to /nonexistent-portproof-logs)`);
    expect(isAlive(oldPid)).toBe(true);
  });

  it("a log on a read-only file system: a named failure with the log's path and the errno in words", async () => {
    const port = await findFreePort();
    const dir = tempDir('portproof-rofs-');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { encoding: 'utf8' });
    if (mounted.status !== 0) throw new Error(`mount failed (the test needs root): ${mounted.stderr}`);
    mounts.push(dir);
    const { revision } = await deployed({ ports: [port], app: { log: path.join(dir, 'app-{port}.log') } });
    const run = await revision.run('start');
    expect(run.code).toBe(1);
    expect(run.verdict).toContain(`app.log ${dir}/app-${port}.log cannot be opened: read-only file system (EROFS)`);
    expect(run.verdict).not.toContain('/proc/self/fd');
    expect(run.verdict).not.toContain('portproof bug');
  });
});

describe('changing app.user on an in-place app', () => {
  it("the old user's log: exit 2 while the old app still runs, naming the owner", async () => {
    const logs = tempDir('portproof-userlog-');
    const log = path.join(logs, 'app-{port}.log');
    const { port, stateDir, oldPid } = await runningV1({ log });
    const { revision } = await deployed({ ports: [port], versionTag: 'v2', stateDir, app: { log, user: 'nobody' } });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain(`app.log: ${logs}/app-${port}.log belongs to uid 0, not to app.user nobody`);
    expect(isAlive(oldPid)).toBe(true);
  });

  it("the old user's recorded app: not trusted as the record, said to be stopped as a listener", async () => {
    const { port, stateDir, oldPid } = await runningV1();
    const logs = tempDir('portproof-newlog-');
    fs.chmodSync(logs, 0o755);
    const app = { user: 'nobody', log: path.join(logs, 'app-{port}.log') };
    const { revision } = await deployed({ ports: [port], versionTag: 'v2', stateDir, app });
    const run = await revision.run('start');
    const notTrusted = run.lines.find((line) => line.includes(`the recorded PID ${oldPid}`));
    const said = /^Not trusting the recorded PID \d+ .*as portproof's record; it is stopped only as a listener on port/;
    expect(notTrusted).toMatch(said);
    expect(run.lines.some((line) => line.startsWith(`Sending SIGTERM to PID ${oldPid}`))).toBe(true);
    expect(run.lines.join('\n')).not.toContain('Not signalling');
  });
});

describe('a port taken during the start', () => {
  it("an external supervisor's restart is named as a foreign process, not stopped, not called a daemon", async () => {
    const port = await findFreePort();
    // A legacy supervisor loop, in a session older than the start: it restarts its app on the port once freed.
    const loop = `while :; do "${process.execPath}" "${FixtureAppPath}" --port=${port}; sleep 0.5; done`;
    const supervisor = spawnTracked(['sh', '-c', loop]);
    await waitForPort(port, 10_000);
    const { revision } = await deployed({ ports: [port], appFlags: ['--bind-delay=8000'] });
    const run = await revision.run('start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', /a foreign process/, /something else restarts it/);
    expect(run.verdict).not.toContain('daemon');
    const holder = Number(/taken during the start by PID (\d+)/.exec(run.verdict)![1]);
    const info = readProcessInfo(holder);
    expect(info?.sid).toBe(supervisor.pid);
    expect(isAlive(holder)).toBe(true);
  });
});

describe('a start given up on', () => {
  it('a daemon slower than start.timeout: named, stopped, and the verdict does not say nothing was left', async () => {
    const port = await findFreePort();
    const fixtures = path.dirname(FixtureAppPath);
    const command = [
      'python3',
      path.join(fixtures, 'daemon.py'),
      process.execPath,
      FixtureAppPath,
      '--port={port}',
      '--bind-delay=60000',
    ];
    const { revision } = await deployed({ ports: [port], app: { command }, start: { timeout: '3s' } });
    const run = await revision.run('start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', /outside its session \(a daemon\), stopped since/);
    expect(run.verdict).not.toContain('left nothing running');
    const daemon = Number(/it left PID (\d+) \(/.exec(run.verdict)![1]);
    expect(run.stdout).toContain(`Stopping PID ${daemon}`);
    expect(isAlive(daemon)).toBe(false);
  });
});

describe('an interrupted start', () => {
  it('SIGTERM during the bind wait stops the backgrounded app this start left, and the verdict says so', async () => {
    const port = await findFreePort();
    const out = path.join(tempDir('portproof-bgout-'), 'app.out');
    const script = path.join(path.dirname(FixtureAppPath), 'background-start.sh');
    const command = ['/bin/sh', script, out, process.execPath, FixtureAppPath, '--port={port}', '--bind-delay=60000'];
    const { revision } = await deployed({ ports: [port], app: { command } });
    let hook = 0;
    const running = revision.run('start', { onSpawn: (pid) => (hook = pid) });
    // The backgrounded app is up and waiting to bind: the hook is in its bind wait.
    const delaying = /INFO (\d+) --- .*Delaying the web server/;
    await pollUntil(
      async () => delaying.test(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : ''),
      20_000,
      'the backgrounded app to start',
    );
    const app = Number(delaying.exec(fs.readFileSync(out, 'utf8'))![1]);
    process.kill(hook, 'SIGTERM');
    const run = await running;
    expectVerdict(
      run,
      'ApplicationStart',
      'FAILED',
      /interrupted by SIGTERM/,
      new RegExp(`stopped what this start had started: .*PID ${app} \\(`),
    );
    expect(isAlive(app)).toBe(false);
  });
});
