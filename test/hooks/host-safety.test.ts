import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, remember } from '../support/hook-tests.ts';
import { ensureUserWithGroup } from '../support/users.ts';

// Root must not be turned against the host (issue 10): the app log is never a followed link or a non-regular file,
// and the app keeps its user's supplementary groups.

const NobodyUid = 65534;
const tempDirs: string[] = [];

afterEach(async () => stopAll());
afterAll(async () => {
  await cleanUpHookTests();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

describe('the app log and the app user, with the compiled hooks', () => {
  it('a log the app user planted as a symlink to a root-only file: no link followed, the file untouched', async () => {
    const port = await findFreePort();
    const secrets = tempDir('portproof-etc-');
    const target = path.join(secrets, 'shadow');
    fs.writeFileSync(target, 'root:$6$secret:19000:0:99999:7:::\n', { mode: 0o600 });
    const logs = tempDir('portproof-logs-');
    fs.chownSync(logs, NobodyUid, NobodyUid);
    // What the app user can do in a log directory it may write: plant the next start's log as a link.
    fs.symlinkSync(target, path.join(logs, `app-${port}.log`));
    fs.lchownSync(path.join(logs, `app-${port}.log`), NobodyUid, NobodyUid);
    const app = { user: 'nobody', log: path.join(logs, 'app-{port}.log') };
    const { revision } = await deployed({ ports: [port], app });
    const run = await revision.run('start');
    const planted = `${logs}/app-${port}.log`;
    // Refused by key before anything is touched (preflight); the launch refuses the same link on its own (app-log.test.ts).
    expect(run.verdict).toContain(
      `ApplicationStart FAILED: config ${revision.configPath}: app.log: ${planted} is a symbolic link`,
    );
    expect(run.code).toBe(2);
    const after = fs.statSync(target);
    expect({ uid: after.uid, gid: after.gid, mode: after.mode & 0o7777 }).toEqual({ uid: 0, gid: 0, mode: 0o600 });
    expect(fs.readFileSync(target, 'utf8')).toBe('root:$6$secret:19000:0:99999:7:::\n');
  });

  it('after the start, nobody swaps the log for a link to a root-only file and stops the app: nothing leaks', async () => {
    const port = await findFreePort();
    const secrets = tempDir('portproof-etc-');
    const target = path.join(secrets, 'shadow');
    fs.writeFileSync(target, 'TOPSECRET root:$6$secret\n', { mode: 0o600 });
    const logs = tempDir('portproof-logs-');
    fs.chownSync(logs, NobodyUid, NobodyUid);
    const app = { user: 'nobody', log: path.join(logs, 'app-{port}.log') };
    const { stateDir, revision } = await deployed({ ports: [port], app });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    // The attack, run as nobody itself: the log becomes a link to the secret, then the app stops.
    const asNobody = (argv: string[]) =>
      execFileSync('setpriv', [`--reuid=${NobodyUid}`, `--regid=${NobodyUid}`, '--clear-groups', '--', ...argv]);
    const log = path.join(logs, `app-${port}.log`);
    asNobody(['ln', '-sfn', target, log]);
    asNobody(['kill', '-KILL', String(pid)]);
    for (let i = 0; isAlive(pid) && i < 3000; i += 1) await new Promise((r) => setTimeout(r, 10));
    const run = await revision.run('validate');
    expectVerdict(run, 'ValidateService', 'FAILED', `is no longer running`);
    expect(run.stdout).toContain(`app.log ${log} is a symbolic link; it is not read`);
    const hooksLog = path.join(stateDir, 'fixture', 'hooks.log');
    expect(`${run.stdout}${run.stderr}${fs.readFileSync(hooksLog, 'utf8')}`).not.toContain('TOPSECRET');
    expect(fs.statSync(hooksLog).mode & 0o777).toBe(0o600);
  });

  it('log: /dev/null is refused: the device is neither handed to the app nor chowned', async () => {
    const port = await findFreePort();
    const before = fs.statSync('/dev/null');
    const { revision } = await deployed({ ports: [port], app: { user: 'nobody', log: '/dev/null' } });
    try {
      const run = await revision.run('start');
      // Refused by key, at the config preflight or at the launch itself: either way nothing was handed or chowned.
      expect(run.verdict).toMatch(/ApplicationStart FAILED: .*app\.log:? .*\/dev\/null.*not a regular file/);
      expect(run.code).not.toBe(0);
      const after = fs.statSync('/dev/null');
      const owner = (s: fs.Stats) => ({ uid: s.uid, gid: s.gid, mode: s.mode });
      expect(owner(after)).toEqual(owner(before));
      expect(after.uid).toBe(0);
    } finally {
      // Today's main chowns the machine's /dev/null: put it back so a failing run leaves the host as it was.
      fs.chownSync('/dev/null', before.uid, before.gid);
    }
  });

  it("log: /dev/stdout is refused: the hook's pipes never reach the app, so the hook ends", async () => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port], app: { log: '/dev/stdout' } });
    // runHookProcess resolves only when both pipes close: an app holding the hook's stdout would hang it.
    const run = await revision.run('start');
    expect(run.verdict).toMatch(/ApplicationStart FAILED: .*app\.log:? .*\/dev\/stdout/);
    expect(run.code).not.toBe(0);
  });

  it("keeps the app user's supplementary groups, as su, runuser and systemd's User= do", async () => {
    const port = await findFreePort();
    const gid = ensureUserWithGroup('portproof-app', 'portproof-cert');
    const { stateDir, revision } = await deployed({ ports: [port], app: { user: 'portproof-app' } });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK', /PID \d+ \(node, /);
    const pid = remember(stateDir, port);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+(\d+)\s/m);
    expect(status).not.toMatch(/^Uid:\s+0\s/m);
    expect(/^Groups:[ \t]*(.*)$/m.exec(status)![1]!.trim().split(/\s+/)).toContain(String(gid));
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${pid}`);
  });
});
