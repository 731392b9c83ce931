import fs from 'node:fs';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import { lookupAccount } from '../process/user.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { lookupUserName } from '../procfs/users.ts';

/** Mode of a state directory portproof creates: only its owner writes; hooks.log and --check stay readable. */
export const StateDirMode = 0o755;

/**
 * Refuse a state directory, or the app's directory in it, that anyone but root (or the hook's own user) could write,
 * as sshd's StrictModes does: whoever can write state.json or plant a link there turns a root hook against the host.
 * Missing directories are created 0755; a read-only run that cannot create them goes on without them.
 */
export function ensureTrustedStateDir(stateDir: string, appDir: string, options: { readOnly: boolean }): void {
  for (const dir of [stateDir, appDir]) {
    if (!createIfMissing(dir, options.readOnly)) return;
    checkDirTrust(dir);
  }
}

/** Why `dir` cannot be trusted (owner or mode), or null when only root or the hook's own user can write it. */
export function findDirDistrust(dir: string, uid = currentUid()): string | null {
  const stat = fs.statSync(dir);
  if (!stat.isDirectory()) return `state directory ${dir} is not a directory`;
  const mode = `0${(stat.mode & 0o7777).toString(8)}`;
  const wrongOwner = stat.uid !== 0 && stat.uid !== uid;
  const writable = [stat.mode & 0o020 ? 'group' : '', stat.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
  if (!wrongOwner && !writable) return null;
  const allowed = uid === 0 ? 'root' : `root or ${lookupUserName(uid)}`;
  const problems = [
    wrongOwner ? `owned by ${lookupUserName(stat.uid)} (uid ${stat.uid}), not ${allowed}` : '',
    writable ? `writable by ${writable}` : '',
  ];
  const facts = wrongOwner ? `mode ${mode}` : `owner ${lookupUserName(stat.uid)}, mode ${mode}`;
  const fix = [
    wrongOwner ? `chown ${uid === 0 ? 'root:root' : lookupUserName(uid)} ${dir}` : '',
    writable ? `chmod go-w ${dir}` : '',
  ];
  const is = problems.filter(Boolean).join(' and ');
  return `state directory ${dir} is ${is} (${facts}): whoever can write it can make the hooks signal any process, `
    + `so it is refused; fix it with: ${fix.filter(Boolean).join(' && ')}`;
}

/**
 * Why a recorded process must not be trusted for its user, or null: it must run as app.user (root when none). A hook
 * run by another user also trusts its own processes: it could signal nothing else anyway.
 */
export function findUserDistrust(info: ProcessInfo, appUser: string | undefined, uid = currentUid()): string | null {
  const expected = appUser ? lookupAccount(appUser).uid : 0;
  if (info.uid !== null && (info.uid === expected || (uid !== 0 && info.uid === uid))) return null;
  const runsAs = info.uid === null ? 'runs as a user that cannot be read' : `runs as ${info.user} (uid ${info.uid})`;
  return `${runsAs}, not as ${appUser ? `app.user ${appUser}` : 'root (no app.user)'}`;
}

function checkDirTrust(dir: string): void {
  let distrust: string | null;
  try {
    distrust = findDirDistrust(dir);
  } catch (error) {
    // A parent the hook's user may not search (run as another user): what cannot be looked at cannot be trusted.
    const message = `cannot read the state directory ${dir}: ${describeFsError(error)}`;
    throw new HookError('UNREADABLE', message, { path: dir });
  }
  if (distrust) throw new HookError('UNSAFE_STATE', distrust, { path: dir });
}

/** Create `dir` 0755 when missing; false when a read-only run could not (nothing there to trust or read). */
function createIfMissing(dir: string, readOnly: boolean): boolean {
  if (fs.existsSync(dir)) return true;
  try {
    // recursive: stateDir's parents may be missing too; an existing dir is left as it is and judged as it is.
    fs.mkdirSync(dir, { recursive: true, mode: StateDirMode });
    // The umask may have taken bits away or (with 002) left group write in: set the mode exactly.
    fs.chmodSync(dir, StateDirMode);
    return true;
  } catch (error) {
    // A read-only report run as a user who may not create it has nothing to read there: go on without it.
    if (readOnly) return false;
    const reason = describeFsError(error);
    const message = `cannot create the state directory ${dir}: ${reason} (run the hook as root, or set stateDir)`;
    throw new HookError('UNREADABLE', message, { path: dir });
  }
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}
