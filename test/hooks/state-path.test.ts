import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, newStateDir, remember } from '../support/hook-tests.ts';

// The red team's findings, end to end with the hooks as shipped: the whole path to the state directory is judged,
// not only its last two directories, so nobody can swap the tree the hooks read after they checked it.

afterEach(async () => stopAll());
afterAll(cleanUpHookTests);

const NobodyUid = 65534;

/** A live root process in a group of its own that portproof did not start: what a forged record would name. */
function spawnBystander(): number {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

function startTimeOf(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
}

describe('the path to the state directory', () => {
  it('parent owned by nobody, state tree swapped for a forged one: refused, nothing signalled or written', async () => {
    const port = await findFreePort();
    const parent = newStateDir();
    const stateDir = path.join(parent, 'state');
    const { revision } = await deployed({ ports: [port], stateDir });
    fs.chownSync(parent, NobodyUid, NobodyUid);
    // What nobody can do there at any moment: rename the real tree away and move in a root-owned one whose state.json
    // names an unrelated root process group and whose hooks.log is a link to a root-only file.
    const bystander = spawnBystander();
    const appDir = path.join(stateDir, 'fixture');
    fs.mkdirSync(appDir, { recursive: true, mode: 0o755 });
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const forged = { pid: bystander, startTime: startTimeOf(bystander), bootId, command: 'node app', user: 'root' };
    const state = JSON.stringify({ lastStarted: port, processes: { [port]: forged } });
    fs.writeFileSync(path.join(appDir, 'state.json'), state);
    const victim = path.join(newStateDir(), 'root-only');
    fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
    fs.symlinkSync(victim, path.join(appDir, 'hooks.log'));
    const expected = new RegExp(
      `FAILED: directory ${parent} above the state directory ${stateDir} is owned by nobody ` +
        '\\(uid 65534\\), not root \\(mode 0755\\): .*signal any process, so it is refused; ' +
        `fix it with: chown root:root ${parent}$`,
    );
    try {
      for (const [hook, args] of [
        ['stop', []],
        ['start', []],
        ['validate', []],
        ['validate', ['--check']],
      ] as const) {
        const run = await revision.run(hook, { args: [...args] });
        expect(isAlive(bystander), `${hook} signalled the forged record's process`).toBe(true);
        expect(run.lines, `${hook} ${args.join(' ')}`).toHaveLength(1);
        expect(run.verdict).toMatch(expected);
        expect(run.code).toBe(2);
      }
      expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
      expect(fs.statSync(victim).mode & 0o7777).toBe(0o600);
      expect(fs.readdirSync(appDir).sort()).toEqual(['hooks.log', 'state.json']);
      expect(fs.readFileSync(path.join(appDir, 'state.json'), 'utf8')).toBe(state);
    } finally {
      try {
        process.kill(-bystander, 'SIGKILL');
      } catch {
        // Already gone: a hook signalled it, which the assertion above has reported.
      }
    }
  });

  it('state dir missing in a root-owned sticky 1777 dir (like /tmp): made root 0755, hooks run', async () => {
    const port = await findFreePort();
    const parent = newStateDir();
    fs.chmodSync(parent, 0o1777);
    const stateDir = path.join(parent, 'state');
    const { revision } = await deployed({ ports: [port], stateDir });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${pid}`);
    for (const dir of [stateDir, path.join(stateDir, 'fixture')]) {
      const stat = fs.lstatSync(dir);
      expect([stat.isDirectory(), stat.uid, stat.mode & 0o7777]).toEqual([true, 0, 0o755]);
    }
  });

  it('app.name "..": exit 2, one line naming the key, nothing written beside or above stateDir', async () => {
    const port = await findFreePort();
    const parent = newStateDir();
    const stateDir = path.join(parent, 'state');
    fs.mkdirSync(stateDir, { mode: 0o755 });
    const { revision } = await deployed({ ports: [port], stateDir, app: { name: '..' } });
    for (const hook of ['stop', 'start', 'validate'] as const) {
      const run = await revision.run(hook);
      expect(run.lines, hook).toHaveLength(1);
      // ApplicationStop with a config it cannot use warns and ends 0 (issue 19); the others refuse with exit 2.
      const outcome = hook === 'stop' ? 'WARNING' : 'FAILED';
      expect(run.verdict).toMatch(
        new RegExp(`${outcome}: .*app\\.name: may hold only letters, digits, .* may not be "\\." or "\\.\\."`),
      );
      expect(run.code).toBe(hook === 'stop' ? 0 : 2);
    }
    expect(fs.readdirSync(parent)).toEqual(['state']);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });
});
