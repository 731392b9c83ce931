import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HookError } from '../../src/core/errors.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import { ensureTrustedStateDir, findDirDistrust, findUserDistrust } from '../../src/core/state/trust.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-trust-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const NobodyUid = 65534;

function newDir(mode = 0o755, uid = 0): string {
  const dir = fs.mkdtempSync(path.join(root, 'd-'));
  fs.chmodSync(dir, mode);
  fs.chownSync(dir, uid, uid);
  return dir;
}

describe('state directory trust', () => {
  it('creates missing directories 0755 whatever the umask, and trusts them', () => {
    const stateDir = path.join(newDir(), 'state');
    const previous = process.umask(0o002);
    try {
      ensureTrustedStateDir(stateDir, path.join(stateDir, 'app'), { readOnly: false });
    } finally {
      process.umask(previous);
    }
    for (const dir of [stateDir, path.join(stateDir, 'app')]) expect(fs.statSync(dir).mode & 0o7777).toBe(0o755);
  });

  it('refuses an app directory others can write, naming owner, mode and the fix', () => {
    const stateDir = newDir();
    const appDir = path.join(stateDir, 'app');
    fs.mkdirSync(appDir, { mode: 0o700 });
    fs.chmodSync(appDir, 0o1777);
    const error = (() => {
      try {
        ensureTrustedStateDir(stateDir, appDir, { readOnly: true });
      } catch (e) {
        return e as HookError;
      }
      return null;
    })();
    expect(error?.code).toBe('UNSAFE_STATE');
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toBe(
      `state directory ${appDir} is writable by group and others (owner root, mode 01777): ` +
        'whoever can write it can make the hooks signal any process, so it is refused; ' +
        `fix it with: chmod go-w ${appDir}`,
    );
  });

  it("a hook run by another user trusts a directory of its own or root's, not a third user's", () => {
    expect(findDirDistrust(newDir(0o755, NobodyUid), NobodyUid)).toBeNull();
    expect(findDirDistrust(newDir(0o755, 0), NobodyUid)).toBeNull();
    const dir = newDir(0o775, 1234);
    const expected =
      `is owned by 1234 \\(uid 1234\\), not root or nobody and writable by group \\(mode 0775\\)` +
      `.*fix it with: chown nobody ${dir} && chmod go-w ${dir}$`;
    expect(findDirDistrust(dir, NobodyUid)).toMatch(new RegExp(expected));
  });
});

describe('the user a recorded process runs as', () => {
  const self = readProcessInfo(process.pid)!;

  it('must be app.user, or root when there is none', () => {
    expect(findUserDistrust(self, undefined, 0)).toBeNull();
    expect(findUserDistrust(self, 'nobody', 0)).toBe(`runs as root (uid 0), not as app.user nobody`);
    const nobody = { ...self, uid: NobodyUid, user: 'nobody' };
    expect(findUserDistrust(nobody, undefined, 0)).toBe('runs as nobody (uid 65534), not as root (no app.user)');
    expect(findUserDistrust({ ...self, uid: null, user: '?' }, undefined, 0)).toMatch(/cannot be read/);
  });

  it("may also be the hook's own user when the hook does not run as root", () => {
    expect(findUserDistrust({ ...self, uid: NobodyUid, user: 'nobody' }, undefined, NobodyUid)).toBeNull();
    expect(findUserDistrust({ ...self, uid: 1234, user: '1234' }, undefined, NobodyUid)).toMatch(/runs as 1234/);
  });
});
