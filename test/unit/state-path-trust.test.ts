import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { HookError } from '../../src/core/errors.ts';
import { ensureTrustedStateDir } from '../../src/core/state/trust.ts';

// The whole path to the state directory, from / down, as sshd's StrictModes judges it; and creating it never
// follows a link. The races are made deterministic: the "attacker" acts inside mkdirSync, right after it.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-path-trust-'));
fs.chmodSync(root, 0o755);
afterEach(() => vi.restoreAllMocks());
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const NobodyUid = 65534;

function newDir(mode = 0o755, uid = 0): string {
  const dir = fs.mkdtempSync(path.join(root, 'd-'));
  fs.chmodSync(dir, mode);
  fs.chownSync(dir, uid, uid);
  return dir;
}

/** A root-only file an attacker wants made world-readable: mode and content must stay. */
function newVictim(): string {
  const file = path.join(newDir(0o700), 'secret');
  fs.writeFileSync(file, 'root only\n', { mode: 0o600 });
  return file;
}

function ensureError(stateDir: string, readOnly = false): HookError | null {
  try {
    ensureTrustedStateDir(stateDir, path.join(stateDir, 'app'), { readOnly });
  } catch (error) {
    return error as HookError;
  }
  return null;
}

/** What the red team's inotify watcher did: as soon as `state` is made, rename it away and put a link there. */
function swapInLinkAfterMkdir(target: string): void {
  const mkdir = fs.mkdirSync;
  vi.spyOn(fs, 'mkdirSync').mockImplementation(((dir: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
    const made = mkdir(dir, options);
    fs.renameSync(dir, `${String(dir)}.moved`);
    fs.symlinkSync(target, dir);
    return made;
  }) as typeof fs.mkdirSync);
}

describe('the path to the state directory', () => {
  it('parent owned by nobody, state missing, a link swapped in as it is made: refused first, victim unchanged', () => {
    const parent = newDir(0o755, NobodyUid);
    const victim = newVictim();
    swapInLinkAfterMkdir(victim);
    const error = ensureError(path.join(parent, 'state'));
    expect(fs.statSync(victim).mode & 0o7777).toBe(0o600);
    expect(error?.code).toBe('UNSAFE_STATE');
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toBe(
      `directory ${parent} above the state directory ${parent}/state is owned by nobody ` +
        '(uid 65534), not root (mode 0755): whoever can rename what is in it can make the hooks signal any process, ' +
        `so it is refused; fix it with: chown root:root ${parent}`,
    );
    // Refused before anything was made in it.
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('a link swapped in between mkdir and chmod even in a trusted parent: refused, never chmodded through', () => {
    const parent = newDir();
    const victim = newVictim();
    swapInLinkAfterMkdir(victim);
    const error = ensureError(path.join(parent, 'state'));
    expect(fs.statSync(victim).mode & 0o7777).toBe(0o600);
    expect(error?.code).toBe('UNSAFE_STATE');
    expect(error?.message).toMatch(
      new RegExp(
        `^state directory ${parent}/state was replaced as portproof created it ` +
          '\\(.*(ENOTDIR|ELOOP)\\)\\): someone else can write to',
      ),
    );
  });

  it('a link planted by nobody where the missing state directory goes: refused, its target untouched', () => {
    const parent = newDir(0o1777);
    const target = newDir(0o700);
    const stateDir = path.join(parent, 'state');
    fs.symlinkSync(target, stateDir);
    fs.lchownSync(stateDir, NobodyUid, NobodyUid);
    const error = ensureError(stateDir);
    expect(error?.code).toBe('UNSAFE_STATE');
    expect(error?.message).toMatch(
      new RegExp(
        `^${stateDir} on the way to the state directory ${stateDir} is a link ` +
          'owned by nobody \\(uid 65534\\), not root: .*fix it with: rm ',
      ),
    );
    expect(fs.readdirSync(target)).toEqual([]);
    expect(fs.statSync(target).mode & 0o7777).toBe(0o700);
  });

  it('a root-owned sticky parent (like /tmp): trusted, the state directory made root 0755', () => {
    const parent = newDir(0o1777);
    const stateDir = path.join(parent, 'state');
    expect(ensureError(stateDir)).toBeNull();
    for (const dir of [stateDir, path.join(stateDir, 'app')]) {
      const stat = fs.lstatSync(dir);
      expect([stat.isDirectory(), stat.uid, stat.mode & 0o7777]).toEqual([true, 0, 0o755]);
    }
  });

  it('a sticky state directory itself is still refused: others could plant files in it', () => {
    const stateDir = newDir(0o1777);
    expect(ensureError(stateDir)?.message).toMatch(/^state directory \S+ is writable by group and others/);
  });

  it('a group-writable grandparent owned by root: refused, naming it and chmod go-w', () => {
    const grand = newDir(0o775);
    const parent = path.join(grand, 'p');
    fs.mkdirSync(parent, { mode: 0o755 });
    const error = ensureError(path.join(parent, 'state'));
    expect(error?.message).toBe(
      `directory ${grand} above the state directory ${parent}/state is writable by group ` +
        '(owner root, mode 0775): whoever can rename what is in it can make the hooks signal any process, ' +
        `so it is refused; fix it with: chmod go-w ${grand}`,
    );
    expect(fs.existsSync(parent)).toBe(true);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it("a root-owned link (an admin's) is followed, and the path it leads to is judged whole", () => {
    const real = path.join(newDir(), 'data');
    fs.mkdirSync(real, { mode: 0o755 });
    const stateDir = path.join(newDir(), 'state');
    fs.symlinkSync(real, stateDir);
    expect(ensureError(stateDir)).toBeNull();
    expect(fs.lstatSync(path.join(real, 'app')).isDirectory()).toBe(true);
    // The same link into a tree under a directory nobody owns: nobody could swap that tree.
    const foreign = newDir(0o755, NobodyUid);
    fs.mkdirSync(path.join(foreign, 'data'), { mode: 0o755 });
    const stateDir2 = path.join(newDir(), 'state');
    fs.symlinkSync(path.join(foreign, 'data'), stateDir2);
    expect(ensureError(stateDir2)?.message).toMatch(
      new RegExp(`^directory ${foreign} above the state directory ` + `${stateDir2} is owned by nobody`),
    );
    expect(fs.readdirSync(path.join(foreign, 'data'))).toEqual([]);
  });

  it('a read-only run that may not create a missing state directory goes on without it', () => {
    const parent = newDir();
    vi.spyOn(fs, 'mkdirSync').mockImplementation(() => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES', errno: -13 });
    });
    expect(ensureError(path.join(parent, 'state'), true)).toBeNull();
    expect(ensureError(path.join(parent, 'state'), false)?.code).toBe('STATE_DIR_FAILED');
  });
});
