import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRelease, nameRelease, releasesDir } from '../../src/core/release/make-release.ts';
import { listReleases, pruneReleases } from '../../src/core/release/prune-releases.ts';
import { assertReleaseKept } from '../../src/core/release/release-gone.ts';

// Releases on real files as root: what the copy keeps, what it never follows, and what pruning spares.

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

/** A revision as the agent unpacks one: a jar, a script, a config dir, links in and out of it. */
function revision(): string {
  const dir = tempDir('portproof-rev-');
  fs.writeFileSync(path.join(dir, 'app.jar'), 'jar bytes');
  fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o750 });
  fs.chownSync(path.join(dir, 'run.sh'), 0, 65534);
  fs.mkdirSync(path.join(dir, 'conf'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'conf', 'app.yml'), 'secret: 1\n', { mode: 0o600 });
  fs.symlinkSync('app.jar', path.join(dir, 'current.jar'));
  return dir;
}

describe('makeRelease', () => {
  it('hard-links every file, keeps modes and owners, re-makes links, lands whole under its name', () => {
    const source = revision();
    const appDir = tempDir('portproof-app-');
    const release = makeRelease(appDir, 'd-ABC123', source);
    expect(release).toMatchObject({ name: 'd-ABC123', linked: 3, copied: 0, skipped: [], made: true });
    expect(release.dir).toBe(path.join(releasesDir(appDir), 'd-ABC123'));
    const inode = (p: string) => fs.statSync(p).ino;
    expect(inode(path.join(release.dir, 'app.jar'))).toBe(inode(path.join(source, 'app.jar')));
    expect(fs.statSync(path.join(release.dir, 'run.sh'))).toMatchObject({ uid: 0, gid: 65534 });
    expect(fs.statSync(path.join(release.dir, 'run.sh')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(path.join(release.dir, 'conf')).mode & 0o7777).toBe(0o700);
    expect(fs.readlinkSync(path.join(release.dir, 'current.jar'))).toBe('app.jar');
    // The agent deletes its archive: the release's files stay.
    fs.rmSync(source, { recursive: true });
    expect(fs.readFileSync(path.join(release.dir, 'app.jar'), 'utf8')).toBe('jar bytes');
    expect(fs.readdirSync(releasesDir(appDir))).toEqual(['d-ABC123']);
  });

  it('a link out of the revision to a root-only file: re-made as a link, never read as root', () => {
    const source = revision();
    const secret = path.join(tempDir('portproof-etc-'), 'shadow');
    fs.writeFileSync(secret, 'TOPSECRET\n', { mode: 0o600 });
    fs.symlinkSync(secret, path.join(source, 'leak'));
    fs.symlinkSync(path.dirname(secret), path.join(source, 'etc'));
    const release = makeRelease(tempDir('portproof-app-'), 'd-LINK', source);
    expect(fs.lstatSync(path.join(release.dir, 'leak')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(path.join(release.dir, 'etc')).isSymbolicLink()).toBe(true);
    // The app follows it with its own rights: as nobody the secret stays unreadable.
    const read = () =>
      execFileSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', path.join(release.dir, 'leak')],
        {
          stdio: 'pipe',
        },
      );
    expect(read).toThrow(/Permission denied/);
  });

  it("directories the revision let the app user write are root's in the release, writable by root only, and named", () => {
    const source = revision();
    fs.mkdirSync(path.join(source, 'cache'), { mode: 0o777 });
    fs.chmodSync(path.join(source, 'cache'), 0o777);
    fs.chownSync(path.join(source, 'conf'), 65534, 65534);
    fs.chownSync(path.join(source, 'conf', 'app.yml'), 65534, 65534);
    const release = makeRelease(tempDir('portproof-app-'), 'd-LOCK', source);
    expect(release.lockedDirs.sort()).toEqual(['cache', 'conf']);
    expect(fs.statSync(path.join(release.dir, 'cache'))).toMatchObject({ uid: 0, mode: fs.constants.S_IFDIR | 0o755 });
    // nobody's 0700 directory: root's, its group (nobody's) lent nobody's read and search bits, so the app still reads.
    expect(fs.statSync(path.join(release.dir, 'conf'))).toMatchObject({ uid: 0, gid: 65534 });
    expect(fs.statSync(path.join(release.dir, 'conf')).mode & 0o7777).toBe(0o750);
    const read = ['--reuid=65534', '--regid=65534', '--init-groups', 'cat', path.join(release.dir, 'conf', 'app.yml')];
    expect(execFileSync('setpriv', read, { encoding: 'utf8' })).toBe('secret: 1\n');
    expect(fs.statSync(path.join(source, 'cache')).mode & 0o7777).toBe(0o777);
  });

  it('a FIFO or device in the revision is left out and named', () => {
    const source = revision();
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    const release = makeRelease(tempDir('portproof-app-'), 'd-FIFO', source);
    expect(release.skipped).toEqual(['pipe']);
    expect(fs.existsSync(path.join(release.dir, 'pipe'))).toBe(false);
  });

  it('across file systems (/dev/shm): copied with the same bytes, modes and owners', () => {
    const source = revision();
    const appDir = fs.mkdtempSync('/dev/shm/portproof-app-');
    dirs.push(appDir);
    const release = makeRelease(appDir, 'd-COPY', source);
    expect(release).toMatchObject({ linked: 0, copied: 3 });
    expect(fs.statSync(path.join(release.dir, 'conf', 'app.yml')).mode & 0o7777).toBe(0o600);
    expect(fs.statSync(path.join(release.dir, 'run.sh'))).toMatchObject({ uid: 0, gid: 65534 });
    expect(fs.readFileSync(path.join(release.dir, 'app.jar'), 'utf8')).toBe('jar bytes');
  });

  it('reuses a release only for the same revision: a repeated name from another revision gets the next name', () => {
    const appDir = tempDir('portproof-app-');
    const one = revision();
    const first = makeRelease(appDir, 'local-4242', one);
    expect(first).toMatchObject({ name: 'local-4242', made: true });
    // A retried ApplicationStart from the same unpacked revision.
    expect(makeRelease(appDir, 'local-4242', one)).toMatchObject({ name: 'local-4242', made: false });
    // Agent 2's next local-4242 (the PID came round again): another revision, however alike.
    const two = revision();
    const second = makeRelease(appDir, 'local-4242', two);
    expect(second).toMatchObject({ name: 'local-4242-2', made: true });
    expect(makeRelease(appDir, 'local-4242', two)).toMatchObject({ name: 'local-4242-2', made: false });
    // The same revision changed in place (a file rewritten) is another revision too.
    fs.writeFileSync(path.join(one, 'app.jar'), 'jar bytes, rebuilt');
    expect(makeRelease(appDir, 'local-4242', one)).toMatchObject({ name: 'local-4242-3', made: true });
    // A revision cannot plant the identity: its own .portproof-revision is not copied over the release's.
    fs.writeFileSync(path.join(two, '.portproof-revision'), 'forged\n');
    expect(makeRelease(appDir, 'local-4242', two)).toMatchObject({ name: 'local-4242-2', made: false });
    expect(fs.readFileSync(path.join(second.dir, '.portproof-revision'), 'utf8')).not.toContain('forged');
  });

  it('names a release by any deployment ID, an unsafe one made safe, a manual run by the time', () => {
    expect(nameRelease('d-ABCDEF123')).toBe('d-ABCDEF123');
    expect(nameRelease('local-4711')).toBe('local-4711');
    expect(nameRelease('../../etc')).toBe('__.._etc');
    expect(nameRelease(null, new Date('2026-12-04T16:00:00.000Z'))).toBe('manual-2026-12-04T16-00-00-000Z');
  });
});

describe('pruneReleases', () => {
  it('keeps the recorded ones, the newest other while fewer than two are in use, and keep: N more', () => {
    const source = revision();
    const appDir = tempDir('portproof-app-');
    for (const [i, name] of ['r1', 'r2', 'r3', 'r4', 'r5'].entries()) {
      const { dir } = makeRelease(appDir, name, source);
      fs.utimesSync(dir, 1000 + i, 1000 + i);
    }
    // In place: r5 live; r4 (newest other) is the previous.
    expect(pruneReleases(appDir, new Set(['r5']), 0)).toEqual({
      kept: ['r5', 'r4'],
      deleted: ['r3', 'r2', 'r1'],
      left: [],
    });
    expect(listReleases(appDir).names).toEqual(['r5', 'r4']);
    makeRelease(appDir, 'r6', source);
    // Blue/green: live r6 and previous r4 recorded; keep: 1 spares r5 too.
    expect(pruneReleases(appDir, new Set(['r6', 'r4']), 1)).toEqual({
      kept: ['r6', 'r5', 'r4'],
      deleted: [],
      left: [],
    });
    expect(pruneReleases(appDir, new Set(['r6', 'r4']), 0)).toEqual({ kept: ['r6', 'r4'], deleted: ['r5'], left: [] });
  });

  it('never deletes a release a running process has as its working directory', async () => {
    const source = revision();
    const appDir = tempDir('portproof-app-');
    const { dir } = makeRelease(appDir, 'old', source);
    fs.utimesSync(dir, 1000, 1000);
    makeRelease(appDir, 'mid', source);
    makeRelease(appDir, 'new', source);
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['30'], { cwd: dir, stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const report = pruneReleases(appDir, new Set(['new', 'mid']), 0);
      expect(report.kept).toContain('old');
      expect(report.deleted).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('assertReleaseKept', () => {
  it('refuses a record whose release is gone, naming it', () => {
    const appDir = tempDir('portproof-app-');
    expect(() => assertReleaseKept(appDir, { release: 'd-GONE' }, 8082)).toThrow(
      `release d-GONE that port 8082 runs from is gone (${appDir}/releases/d-GONE)`,
    );
    expect(() => assertReleaseKept(appDir, {}, 8082)).not.toThrow();
  });
});
