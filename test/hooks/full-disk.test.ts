import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findEntry, HookEntries, type HookEntry } from '../../src/core/events.ts';
import { findListeners, readProcessInfo } from '../../src/core/procfs/index.ts';
import { startNginx, type TestNginx } from '../../src/lab/nginx.ts';
import { findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import type { HookRun } from '../../src/lab/agent.ts';
import { httpGet } from '../support/app.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  readState,
  remember,
} from '../support/hook-tests.ts';

// A state directory that fills up or turns read-only, for real: a tiny tmpfs mounted as the state dir (root only).

const FaultFixture = path.resolve(import.meta.dirname, '../fixtures/fault.mjs');
const PageBytes = 4096;

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;
let logDir: string;
const mounts: string[] = [];

beforeAll(() => {
  // Mounting a tmpfs needs root; a run without it must fail loudly, never pass by skipping.
  if (process.getuid?.() !== 0)
    throw new Error('the full-disk tests mount a tmpfs and must run as root (they do in CI)');
});
beforeEach(async () => {
  const [listen, a, b] = await findFreePorts(3);
  [blue, green] = [a!, b!];
  nginx = await startNginx({ listenPort: listen!, livePort: green });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-tmpfs-'));
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-applog-'));
  mount(['-t', 'tmpfs', '-o', 'size=1m,nr_inodes=64,mode=0755', 'tmpfs', stateDir]);
  mounts.push(stateDir);
});
afterEach(async () => {
  await nginx.stop();
  await stopAll();
  killRecordedApps();
  unmount(mounts.pop()!);
  fs.rmSync(logDir, { recursive: true, force: true });
});
afterAll(async () => {
  for (const dir of mounts.splice(0)) unmount(dir);
  await cleanUpHookTests();
});

function mount(args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} failed: ${result.stderr}`);
}

function unmount(dir: string): void {
  // Lazy: a process that still has a file open there must not keep the mount (and the next test) hostage. The
  // read-only case stacks a bind mount on the tmpfs: unmount until nothing is mounted there.
  for (let i = 0; i < 3 && spawnSync('umount', ['-l', dir]).status === 0; i += 1);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The apps recorded in the tmpfs's state: SIGKILL their groups before the mount goes away with their records. */
function killRecordedApps(): void {
  let processes: Record<string, { pid: number; startTime: number }> = {};
  try {
    processes = readState(stateDir).processes;
  } catch {
    return; // No state was written.
  }
  for (const { pid, startTime } of Object.values(processes)) {
    if (readProcessInfo(pid)?.startTime !== startTime) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone between the read and the signal.
    }
  }
}

function nginxBlock(test: string[] = nginx.testCommand) {
  // nginx -T stays plain: the fault belongs to the config test before the reload, not to the hooks' first look.
  const dump = [...nginx.testCommand.slice(0, -1), '-T'];
  return nginxSection(nginx, { test, dump });
}

/** nginx -t preceded by a fault in the state dir: the fault arrives after the include is written, before the record. */
function faultThenTest(fault: 'fill-bytes' | 'fill-inodes' | 'read-only'): string[] {
  return [process.execPath, FaultFixture, `--${fault}=${stateDir}`, '--', ...nginx.testCommand];
}

async function revision(versionTag: string, test?: string[], release = false) {
  // The app runs from app.cwd as configured (no release under the full state dir) unless `release`.
  const app = { log: path.join(logDir, 'app-{port}.log'), ...(release ? {} : { cwd: os.tmpdir() }) };
  return (await deployed({ ports: [blue, green], versionTag, stateDir, nginx: nginxBlock(test), app })).revision;
}

/** v1 live on blue and recorded, the state dir still healthy. */
async function v1Live() {
  const v1 = await revision('v1');
  expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK');
  expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
  expectVerdict(await v1.run('validate'), 'ValidateService', 'OK', `nginx now → ${blue}`);
  return { revision: v1, pid: remember(stateDir, blue) };
}

async function versionBehindNginx(): Promise<string> {
  return (await httpGet(`${nginx.url}/`)).body.trim();
}

/** Fill the tmpfs until exactly `pages` blocks (or `inodes` inodes) are free: enough for the lock, not the state. */
function fillLeaving(what: 'pages' | 'inodes'): void {
  const args = what === 'pages' ? [`--fill-bytes=${stateDir}`] : [`--fill-inodes=${stateDir}`];
  const filled = spawnSync(process.execPath, [FaultFixture, ...args], { encoding: 'utf8' });
  if (filled.status !== 0) throw new Error(`fault fixture failed: ${filled.stderr}`);
  if (what === 'pages') {
    const fill = path.join(stateDir, '.fill');
    const pages = Math.ceil(fs.statSync(fill).size / PageBytes);
    fs.truncateSync(fill, (pages - 1) * PageBytes);
  } else {
    fs.rmSync(path.join(stateDir, '.fill-0'));
  }
  const free = fs.statfsSync(stateDir);
  expect(what === 'pages' ? free.bfree : free.ffree).toBe(1);
}

function freeSpace(): void {
  for (const name of fs.readdirSync(stateDir)) if (name.startsWith('.fill')) fs.rmSync(path.join(stateDir, name));
}

/** The verdict of a state write that failed, and no crash: the path, the errno's meaning, never "a portproof bug". */
function expectStateWriteFailed(run: HookRun, event: string, meaning: string, ...more: (string | RegExp)[]): void {
  expectVerdict(run, event, 'FAILED', `cannot write ${stateDir}/fixture/state.json: ${meaning}`, ...more);
  expect(run.stdout).not.toContain('portproof bug');
}

describe('a full or read-only state directory (a real tmpfs), with the compiled hooks', () => {
  it('no space left after the switch: nginx is put back, the verdict names state.json, a failing JSON log hides nothing', async () => {
    const v1 = await v1Live();
    const include = nginx.readInclude();
    const v2 = await revision('v2', faultThenTest('fill-bytes'));
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    const v2Pid = remember(stateDir, green);
    const run = await v2.run('validate');
    expectStateWriteFailed(
      run,
      'ValidateService',
      'no space left on device (ENOSPC)',
      `nginx put back on port ${blue}`,
    );
    expect(run.stderr).toContain(`cannot write ${stateDir}/fixture/hooks.log: no space left on device`);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
    expect(readState(stateDir)).toMatchObject({ live: blue });
    expect([isAlive(v1.pid), isAlive(v2Pid)]).toEqual([true, true]);
    // Space freed, the same validate finishes the deployment.
    freeSpace();
    const again = await (await revision('v2')).run('validate');
    expectVerdict(again, 'ValidateService', 'OK', `nginx now → ${green}`);
    expect(await versionBehindNginx()).toContain('version=v2');
  });

  it('no inodes left after the switch: nginx is put back, the verdict names state.json', async () => {
    await v1Live();
    const include = nginx.readInclude();
    const v2 = await revision('v2', faultThenTest('fill-inodes'));
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    expectStateWriteFailed(
      await v2.run('validate'),
      'ValidateService',
      'no space left on device (ENOSPC)',
      `nginx put back on port ${blue}`,
    );
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
    expect(readState(stateDir)).toMatchObject({ live: blue });
  });

  it('the state dir turns read-only after the switch: nginx is put back, the verdict says so', async () => {
    await v1Live();
    const include = nginx.readInclude();
    const v2 = await revision('v2', faultThenTest('read-only'));
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    expectStateWriteFailed(
      await v2.run('validate'),
      'ValidateService',
      'read-only file system (EROFS)',
      `nginx put back on port ${blue}`,
    );
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
    expect(readState(stateDir)).toMatchObject({ live: blue });
    // The read-only bind mount goes; the tmpfs below it is writable again.
    expect(spawnSync('umount', [stateDir]).status).toBe(0);
    expectVerdict(await (await revision('v2')).run('validate'), 'ValidateService', 'OK', `nginx now → ${green}`);
  });

  it('no space left before the switch: start cannot record, so the new process is stopped again', async () => {
    const v1 = await v1Live();
    const include = nginx.readInclude();
    const v2 = await revision('v2');
    fillLeaving('pages');
    const run = await v2.run('start');
    expectStateWriteFailed(
      run,
      'ApplicationStart',
      'no space left on device (ENOSPC)',
      /the new PID (\d+) could not be recorded: stopped what this start had started: PID \1 \(/,
    );
    const newPid = Number(/the new PID (\d+)/.exec(run.verdict)![1]);
    expect(isAlive(newPid)).toBe(false);
    expect(findListeners(green).listeners).toEqual([]);
    expect(isAlive(v1.pid)).toBe(true);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('no space left for the release: start fails naming it, leaves no partial release, starts nothing', async () => {
    const v1 = await v1Live();
    const v2 = await revision('v2', undefined, true);
    fillLeaving('pages');
    const run = await v2.run('start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', `cannot make the release ${stateDir}/fixture/releases/d-`);
    expect(run.verdict).toContain('no space left on device (ENOSPC)');
    expect(fs.readdirSync(path.join(stateDir, 'fixture', 'releases'))).toEqual([]);
    expect(findListeners(green).listeners).toEqual([]);
    expect(isAlive(v1.pid)).toBe(true);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('no inodes left before the start: the lock cannot be taken, the verdict names it, nothing is started', async () => {
    const v1 = await v1Live();
    const include = nginx.readInclude();
    const v2 = await revision('v2');
    // One inode left: the lock's temp file takes it, and tmpfs counts its link() into place as one more.
    fillLeaving('inodes');
    const run = await v2.run('start');
    expectVerdict(
      run,
      'ApplicationStart',
      'FAILED',
      `cannot write the lock ${stateDir}/fixture/lock: no space left on device (ENOSPC)`,
    );
    expect(run.stdout).not.toContain('portproof bug');
    expect(findListeners(green).listeners).toEqual([]);
    expect(isAlive(v1.pid)).toBe(true);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('no space left when stop forgets what it stopped: the verdict names state.json and says the port was freed', async () => {
    const v1 = await v1Live();
    const v2 = await revision('v2');
    for (const hook of HookEntries) expectVerdict(await v2.run(hook), hookEvent(hook), 'OK');
    remember(stateDir, green);
    fillLeaving('pages');
    const run = await (await revision('v3')).run('stop');
    expectStateWriteFailed(
      run,
      'ApplicationStop',
      'no space left on device (ENOSPC)',
      `port ${blue} free after`,
      `stopped PID ${v1.pid}`,
    );
    expect(isAlive(v1.pid)).toBe(false);
    expect(await versionBehindNginx()).toContain('version=v2');
  });
});

function hookEvent(hook: HookEntry): string {
  return findEntry(hook).event;
}
