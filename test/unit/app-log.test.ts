import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAppLog } from '../../src/core/process/app-log.ts';
import { readLogTail } from '../../src/core/process/log-tail.ts';

// openAppLog on real files as root: what an app user could plant in a log directory it can write.

const nobody = { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function logDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-applog-'));
  fs.chownSync(dir, nobody.uid, nobody.gid);
  dirs.push(dir);
  return dir;
}

function open(file: string): void {
  fs.closeSync(openAppLog(file, nobody).fd);
}

describe('openAppLog', () => {
  it('creates a missing log and gives it to the app user', () => {
    const file = path.join(logDir(), 'logs', 'app-8081.log');
    const log = openAppLog(file, nobody);
    fs.writeSync(log.fd, 'line\n');
    fs.closeSync(log.fd);
    expect(fs.statSync(file)).toMatchObject({ uid: nobody.uid, gid: nobody.gid, size: 5 });
    expect(openAppLog(file, nobody).offset).toBe(5);
  });

  it('a FIFO nobody reads: refused at once, never blocking the hook', () => {
    const file = path.join(logDir(), 'app.log');
    execFileSync('mkfifo', [file]);
    expect(() => open(file)).toThrow(`app.log ${file} is not a regular file (a FIFO)`);
  });

  it('a hard link to a root file: refused, the file neither chowned nor written', () => {
    const secret = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-root-')), 'secret');
    dirs.push(path.dirname(secret));
    fs.writeFileSync(secret, 'x', { mode: 0o600 });
    const file = path.join(logDir(), 'app.log');
    fs.linkSync(secret, file);
    expect(() => open(file)).toThrow('has 2 hard links');
    expect(fs.statSync(secret)).toMatchObject({ uid: 0, size: 1 });
  });

  it("an existing file that is not the app user's: refused, not chowned", () => {
    const file = path.join(logDir(), 'app.log');
    fs.writeFileSync(file, '', { mode: 0o600 });
    expect(() => open(file)).toThrow(`belongs to uid 0, not to app.user nobody`);
    expect(fs.statSync(file).uid).toBe(0);
  });

  it('a dangling symlink: refused, nothing created at its target', () => {
    const dir = logDir();
    const target = path.join(dir, 'elsewhere');
    fs.symlinkSync(target, path.join(dir, 'app.log'));
    expect(() => open(path.join(dir, 'app.log'))).toThrow('is a symbolic link');
    expect(fs.existsSync(target)).toBe(false);
  });

  it('a log directory the app user swapped for a link to a root-only directory: refused, nothing made there', () => {
    const home = logDir();
    const rootOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-rootonly-'));
    dirs.push(rootOnly);
    fs.chmodSync(rootOnly, 0o700);
    fs.symlinkSync(rootOnly, path.join(home, 'logs'));
    fs.lchownSync(path.join(home, 'logs'), nobody.uid, nobody.gid);
    const file = path.join(home, 'logs', 'sub', 'app-8081.log');
    expect(() => open(file)).toThrow(`app.log ${file} cannot be opened: ${home}/logs is a symbolic link`);
    expect(fs.readdirSync(rootOnly)).toEqual([]);
  });

  it('a file system error opening the log names app.log and the errno in words, not a /proc path', () => {
    const file = '/proc/portproof-no-such-dir/app.log';
    expect(() => open(file)).toThrow(/^app\.log \/proc\/portproof-no-such-dir\/app\.log cannot be opened/);
    try {
      open(file);
    } catch (error) {
      expect((error as Error).message).not.toContain('/proc/self/fd');
      expect((error as Error).name).toBe('HookError');
    }
  });
});

describe('readLogTail as root', () => {
  function secret(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-secret-'));
    dirs.push(dir);
    const file = path.join(dir, 'shadow');
    fs.writeFileSync(file, 'TOPSECRET-LINE\n', { mode: 0o600 });
    return file;
  }

  it("reads the app user's own log", () => {
    const file = path.join(logDir(), 'app.log');
    fs.writeFileSync(file, 'started\nPort 8081 was already in use\n');
    fs.chownSync(file, nobody.uid, nobody.gid);
    expect(readLogTail(file, 0, 'nobody')).toEqual(['started', 'Port 8081 was already in use']);
  });

  it('a log swapped for a link to a root-only file: not read, the refusal said instead', () => {
    const file = path.join(logDir(), 'app.log');
    fs.symlinkSync(secret(), file);
    const tail = readLogTail(file, 0, 'nobody');
    expect(tail.join('\n')).not.toContain('TOPSECRET');
    expect(tail).toEqual([`(log not read: app.log ${file} is a symbolic link; it is not read)`]);
  });

  it('a directory on the way swapped for a link: not followed', () => {
    const dir = logDir();
    fs.symlinkSync(path.dirname(secret()), path.join(dir, 'logs'));
    const tail = readLogTail(path.join(dir, 'logs', 'shadow'), 0, 'nobody');
    expect(tail.join('\n')).not.toContain('TOPSECRET');
    expect(tail[0]).toMatch(/is a symbolic link/);
  });

  it("a hard link, or a root-owned file moved in: not the app user's, not read", () => {
    const dir = logDir();
    const hard = path.join(dir, 'hard.log');
    fs.linkSync(secret(), hard);
    expect(readLogTail(hard, 0, 'nobody')[0]).toMatch(/has 2 hard links/);
    const moved = path.join(dir, 'moved.log');
    fs.renameSync(secret(), moved);
    expect(readLogTail(moved, 0, 'nobody')[0]).toMatch(/belongs to uid 0, not to the app's uid 65534/);
  });
});
