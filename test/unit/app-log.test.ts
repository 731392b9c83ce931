import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAppLog } from '../../src/core/process/app-log.ts';

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
