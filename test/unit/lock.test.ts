import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HookError } from '../../src/core/errors.ts';
import { acquireLock } from '../../src/core/state/lock.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-lock-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const LockTaker = path.resolve(import.meta.dirname, '../fixtures/lock-taker.ts');
const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function newDir(): string {
  return fs.mkdtempSync(path.join(root, 'app-'));
}

/** A lock left by a hook that died: a PID that exited, with the start time it had. */
function writeDeadHoldersLock(dir: string): number {
  const child = spawnSync('sh', ['-c', 'cat /proc/self/stat'], { encoding: 'utf8' });
  const pid = Number(child.stdout.split(' ')[0]);
  const startTime = Number(child.stdout.slice(child.stdout.lastIndexOf(')') + 2).split(' ')[19]);
  const acquiredAt = '2026-01-01T00:00:00Z';
  const holder = { pid, startTime, bootId, event: 'ApplicationStart', deploymentId: 'd-DEAD', acquiredAt };
  fs.writeFileSync(path.join(dir, 'lock'), `${JSON.stringify(holder)}\n`);
  return pid;
}

/** Write the lock file as an older release left it mid-write (or crashed): `content`, modified `ageMs` ago. */
function writeUnreadableLock(dir: string, content: string, ageMs: number): void {
  const file = path.join(dir, 'lock');
  fs.writeFileSync(file, content);
  const when = new Date(Date.now() - ageMs);
  fs.utimesSync(file, when, when);
}

async function expectLocked(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HookError);
  expect((error as HookError).code).toBe('LOCKED');
  expect((error as HookError).message).toMatch(message);
}

interface Taker {
  pid: number;
  ready: Promise<void>;
  done: Promise<{ code: number | null; stderr: string }>;
  go(): void;
}

function startTaker(dir: string, marks: string, end: 'release' | 'die'): Taker {
  const argv = ['--import', 'tsx', LockTaker, dir, marks, '20', end];
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock taker exited with ${code} before it was ready: ${stderr}`)));
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stderr }));
  });
  return { pid: child.pid!, ready, done, go: () => child.stdin.write('go\n') };
}

describe('the lock', () => {
  it.each([
    ['each releases it', 'release'],
    ['each dies holding it, leaving a stale lock for the rest', 'die'],
  ] as const)('24 hooks racing for one stale lock from a dead PID (%s): one holder at a time', async (_what, end) => {
    const dir = newDir();
    const marks = path.join(root, `marks-${path.basename(dir)}`);
    writeDeadHoldersLock(dir);
    const takers = Array.from({ length: 24 }, () => startTaker(dir, marks, end));
    await Promise.all(takers.map((t) => t.ready));
    // Released together: every taker finds the same stale lock and tries to take it over.
    for (const taker of takers) taker.go();
    const results = await Promise.all(takers.map((t) => t.done));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const lines = fs.readFileSync(marks, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(48);
    // Mutual exclusion: each "enter" is followed by the same taker's "exit" before anyone else enters.
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]!.split(' ')[1];
      expect([lines[i], lines[i + 1]], `marks ${i}-${i + 1}`).toEqual([`enter ${pid}`, `exit ${pid}`]);
    }
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(24);
    // Nothing left behind but, when the last holder died holding it, its lock: no temp file, no takeover claim.
    expect(fs.readdirSync(dir)).toEqual(end === 'die' ? ['lock'] : []);
  });

  it('an empty lock file written just now is not taken over: a holder may be mid-write', async () => {
    const dir = newDir();
    writeUnreadableLock(dir, '', 0);
    const taking = acquireLock(dir, 'ApplicationStop', null, 1500);
    await expectLocked(taking, /the lock .*\/lock is empty and was written \d+ s ago/);
    expect(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).toBe('');
  });

  it('a half-written lock file written just now is not taken over', async () => {
    const dir = newDir();
    writeUnreadableLock(dir, '{"pid": 12', 0);
    await expectLocked(acquireLock(dir, 'ApplicationStop', null, 1500), /is unreadable and was written/);
    expect(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).toBe('{"pid": 12');
  });

  it('an empty or half-written lock file left long ago is stale, and taken over', async () => {
    for (const content of ['', '{"pid": 12']) {
      const dir = newDir();
      writeUnreadableLock(dir, content, 60_000);
      const lock = await acquireLock(dir, 'ApplicationStop', 'd-NEW', 1500);
      const holder = JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8'));
      expect(holder).toMatchObject({ pid: process.pid, deploymentId: 'd-NEW' });
      lock.release();
      expect(fs.readdirSync(dir)).toEqual([]);
    }
  });

  it('a live holder is waited for, then named', async () => {
    const dir = newDir();
    const held = await acquireLock(dir, 'ValidateService', 'd-FIRST');
    const second = acquireLock(dir, 'ApplicationStop', null, 300);
    await expectLocked(second, new RegExp(`PID ${process.pid} \\(ValidateService, deployment d-FIRST`));
    held.release();
    (await acquireLock(dir, 'ApplicationStop', null, 300)).release();
  });

  it('what waiters killed mid-wait left behind is removed by the next holder', async () => {
    const dir = newDir();
    const deadPid = writeDeadHoldersLock(dir);
    fs.rmSync(path.join(dir, 'lock'));
    const mine = `.lock.${process.pid}.0123456789ab.tmp`;
    for (const name of [`.lock.${deadPid}.0123456789ab.tmp`, mine]) fs.writeFileSync(path.join(dir, name), '{}');
    const lock = await acquireLock(dir, 'ApplicationStop', null, 300);
    expect(fs.readdirSync(dir).sort()).toEqual([mine, 'lock']);
    lock.release();
  });

  it('a lock that cannot be written is a HookError naming the path and the reason in words', async () => {
    // sysfs refuses new files, even to root: the nearest thing to a read-only or full disk without mounting one.
    const error = await acquireLock('/sys/kernel', 'ApplicationStop', null, 300).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HookError);
    expect((error as HookError).message).toBe('cannot write the lock /sys/kernel/lock: permission denied (EACCES)');
  });
});
