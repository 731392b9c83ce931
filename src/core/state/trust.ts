import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import { findAppAccount } from '../process/user.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { lookupUserName } from '../procfs/users.ts';
import { findOtherWriters } from '../root-only-dir.ts';

/** Mode of a state directory portproof creates: only its owner writes; hooks.log and --check stay readable. */
export const StateDirMode = 0o755;

/** How many links the walk to the state directory follows before it gives up (the kernel's own limit). */
const MaxLinks = 40;

/** One name on the way to the app's directory; `own` marks stateDir and the app's directory themselves. */
interface Step {
  name: string;
  own: boolean;
}

/**
 * Refuse a state directory, the app's directory in it, or any directory above them that anyone but root (or the
 * hook's own user) could write, as sshd's StrictModes does: whoever can write state.json or plant a link there turns
 * a root hook against the host, and whoever can rename a directory above it can swap in a tree of their own after
 * the check. With every directory on the way unreplaceable, later lookups by path find what was checked. Missing
 * directories are created 0755 one at a time, never through a link; a read-only run that cannot create them goes on
 * without them.
 */
export function ensureTrustedStateDir(stateDir: string, appDir: string, options: { readOnly: boolean }): void {
  const depth = splitPath(stateDir).length;
  const steps = splitPath(appDir).map((name, i) => ({ name, own: i >= depth - 1 }));
  let current = '/';
  judgeDir(current, lstatOrNull(current, stateDir, options.readOnly)!, false, stateDir);
  let hops = 0;
  for (let step = steps.shift(); step; step = steps.shift()) {
    if (step.name === '..') {
      // Reached only through a link's target: `current` is a real, checked directory, so its parent is known.
      current = path.dirname(current);
      if (step.own) judgeDir(current, fs.lstatSync(current), true, stateDir);
      continue;
    }
    const dir = path.join(current, step.name);
    const stat = lstatOrNull(dir, stateDir, options.readOnly);
    if (stat === undefined) return;
    if (stat === null || stat.isSymbolicLink()) {
      // Each link followed, and each name that reappeared as it was created, counts: a loop must end somewhere.
      if (++hops > MaxLinks) throw unsafe(dir, `state directory ${stateDir} cannot be reached: too many links`);
    }
    if (stat === null) {
      const created = createDir(dir, step, stateDir, options.readOnly);
      if (created === 'unwritable') return;
      // Something appeared at that name meanwhile: judge it as it is now.
      if (created === 'exists') steps.unshift(step);
      else current = dir;
      continue;
    }
    if (stat.isSymbolicLink()) {
      checkLinkOwner(dir, stat, stateDir);
      const target = fs.readlinkSync(dir);
      if (target.startsWith('/')) current = '/';
      const names = target.split('/').filter((name) => name !== '' && name !== '.');
      steps.unshift(...names.map((name, i) => ({ name, own: step.own && i === names.length - 1 })));
      continue;
    }
    judgeDir(dir, stat, step.own, stateDir);
    current = dir;
  }
}

/** Why `dir` cannot be trusted (owner or mode), or null when only root or the hook's own user can write it. */
export function findDirDistrust(dir: string, uid = currentUid()): string | null {
  return describeDistrust(dir, fs.statSync(dir), uid, null);
}

/**
 * Why a directory cannot be trusted, or null. `stateDir` null: it is the state directory (or the app's) itself;
 * otherwise a directory above it, which may also be root's and sticky (like /tmp): others cannot rename root's entries.
 */
function describeDistrust(dir: string, stat: fs.Stats, uid: number, stateDir: string | null): string | null {
  const what = stateDir === null ? `state directory ${dir}` : `directory ${dir} above the state directory ${stateDir}`;
  if (!stat.isDirectory()) return `${what} is not a directory`;
  const writers = findOtherWriters(dir, stat, { stickyOk: stateDir !== null, allowUid: uid });
  if (writers === null) return null;
  const who = stateDir === null ? 'whoever can write it' : 'whoever can rename what is in it';
  return (
    `${what} is ${writers.problem}: ${who} can make the hooks signal any process, ` +
    `so it is refused; fix it with: ${writers.fix}`
  );
}

/**
 * Why a recorded process must not be trusted for its user, or null: it must run as app.user (root when none). A hook
 * run by another user also trusts its own processes: it could signal nothing else anyway.
 */
export function findUserDistrust(info: ProcessInfo, appUser: string | undefined, uid = currentUid()): string | null {
  const expected = findAppAccount(appUser)?.uid ?? 0;
  if (info.uid !== null && (info.uid === expected || (uid !== 0 && info.uid === uid))) return null;
  const runsAs = info.uid === null ? 'runs as a user that cannot be read' : `runs as ${info.user} (uid ${info.uid})`;
  return `${runsAs}, not as ${appUser ? `app.user ${appUser}` : 'root (no app.user)'}`;
}

/** Refuse a directory on the way (`own`: the state directory or the app's) that others could write or replace. */
function judgeDir(dir: string, stat: fs.Stats, own: boolean, stateDir: string): void {
  const distrust = describeDistrust(dir, stat, currentUid(), own ? null : stateDir);
  if (distrust) throw unsafe(dir, distrust);
}

/** A link on the way is followed only when root (or the hook's user) made it: its owner could point it elsewhere. */
function checkLinkOwner(link: string, stat: fs.Stats, stateDir: string): void {
  const uid = currentUid();
  if (stat.uid === 0 || stat.uid === uid) return;
  const allowed = uid === 0 ? 'root' : `root or ${lookupUserName(uid)}`;
  throw unsafe(
    link,
    `${link} on the way to the state directory ${stateDir} is a link owned by ` +
      `${lookupUserName(stat.uid)} (uid ${stat.uid}), not ${allowed}: whoever owns it can point it anywhere, ` +
      `so it is refused; fix it with: rm ${link} (or set stateDir to a directory root owns)`,
  );
}

/** lstat `dir`: null when missing, undefined when a read-only run may not look (nothing there to read). */
function lstatOrNull(dir: string, stateDir: string, readOnly: boolean): fs.Stats | null | undefined {
  try {
    return fs.lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A parent the hook's user may not search (run as another user): a report goes on without the directory.
    if (readOnly) return undefined;
    // What cannot be looked at cannot be trusted.
    const message = `cannot read the state directory ${stateDir}: ${dir}: ${describeFsError(error)}`;
    throw new HookError('STATE_DIR_FAILED', message, { path: dir });
  }
}

/**
 * Create the missing directory `dir` 0755 inside its checked parent without following links: mkdir, then open it
 * O_NOFOLLOW and set and judge its mode through that descriptor, so a link swapped in meanwhile is refused, never
 * chmodded. 'exists' when something else appeared at the name first; 'unwritable' when a read-only run could not.
 */
function createDir(dir: string, step: Step, stateDir: string, readOnly: boolean): 'created' | 'exists' | 'unwritable' {
  try {
    fs.mkdirSync(dir, { mode: StateDirMode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    // A read-only report run as a user who may not create it has nothing to read there: go on without it.
    if (readOnly) return 'unwritable';
    const reason = describeFsError(error);
    const message = `cannot create the state directory ${dir}: ${reason} (run the hook as root, or set stateDir)`;
    throw new HookError('STATE_DIR_FAILED', message, { path: dir });
  }
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const reason = describeFsError(error);
    throw unsafe(
      dir,
      `state directory ${dir} was replaced as portproof created it (${reason}): someone else can ` +
        `write to ${path.dirname(dir)}, so it is refused; fix it with: chown root:root ${path.dirname(dir)} ` +
        `&& chmod go-w ${path.dirname(dir)}`,
    );
  }
  try {
    // The umask may have taken bits away or (with 002) left group write in: set the mode exactly.
    fs.fchmodSync(fd, StateDirMode);
    judgeDir(dir, fs.fstatSync(fd), step.own, stateDir);
  } finally {
    fs.closeSync(fd);
  }
  return 'created';
}

function unsafe(dir: string, message: string): HookError {
  return new HookError('UNSAFE_STATE', message, { path: dir });
}

/** The names of an absolute path, root first ("/var/lib/portproof" → var, lib, portproof). */
function splitPath(dir: string): string[] {
  return path.resolve(dir).split('/').filter(Boolean);
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}
