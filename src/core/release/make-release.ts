import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import { identifyRevision, readRevisionId, RevisionIdFile } from './revision-identity.ts';

const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fs.constants;
const DirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** A release portproof owns: its directory under the state directory, and how it was made. */
export interface Release {
  name: string;
  dir: string;
  /** Files hard-linked from the revision, files copied (another file system), and entries left out (devices, FIFOs). */
  linked: number;
  copied: number;
  skipped: string[];
  /** False when the release of this deployment was already there (a retried ApplicationStart). */
  made: boolean;
  /** Directories the revision let someone other than root write (owner or mode); in the release only root can. */
  lockedDirs: string[];
}

/** Where an app's releases live: <stateDir>/<app>/releases. */
export function releasesDir(appDir: string): string {
  return path.join(appDir, 'releases');
}

/** A release's directory name from a deployment ID (`d-…`, agent 2's `local-<pid>`), or the time for a manual run. */
export function nameRelease(deploymentId: string | null, now = new Date()): string {
  const safe = deploymentId?.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe || `manual-${now.toISOString().replace(/[:.]/g, '-')}`;
}

/** How many names a deployment's release may take (`d-X`, `d-X-2`, …) before the hook gives up. */
const MaxNameTries = 100;

/**
 * Make the release of the revision directory `source`, named `name` (or `name-2`, `name-3`, … when that name holds
 * another revision: agent 2's `local-<pid>` repeats): each regular file hard-linked where the file system allows
 * (else copied), directories made and links re-made as they are (never followed, so nothing outside the revision is
 * read as root), modes and owners kept, devices, FIFOs and sockets left out. Built in a temporary directory and
 * renamed into place with the revision's identity in it, so a release directory is always whole. A release that
 * already holds this revision (a retried ApplicationStart) is reused.
 */
export function makeRelease(appDir: string, name: string, source: string): Release {
  const root = releasesDir(appDir);
  let identity: string;
  try {
    identity = identifyRevision(source);
  } catch (error) {
    const why = describeFsError(error);
    throw new HookError('RELEASE_FAILED', `cannot read the revision ${source}: ${why}`, { path: source });
  }
  for (let i = 1; i <= MaxNameTries; i++) {
    const candidate = i === 1 ? name : `${name}-${i}`;
    const dir = path.join(root, candidate);
    if (!fs.existsSync(dir)) return buildRelease(root, candidate, source, identity);
    // The same name from another revision (a repeated PID, a redeployed ID): never reused, the next name is tried.
    if (readRevisionId(dir) === identity)
      return { name: candidate, dir, linked: 0, copied: 0, skipped: [], made: false, lockedDirs: [] };
  }
  const message = `cannot make a release for ${name}: ${MaxNameTries} releases of that name hold other revisions`;
  throw new HookError('RELEASE_FAILED', message, { path: root });
}

function buildRelease(root: string, name: string, source: string, identity: string): Release {
  const dir = path.join(root, name);
  const release: Release = { name, dir, linked: 0, copied: 0, skipped: [], made: false, lockedDirs: [] };
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  const temp = path.join(root, `.tmp-${name}-${process.pid}`);
  fs.rmSync(temp, { recursive: true, force: true });
  try {
    const sourceFd = fs.openSync(source, DirFlags);
    try {
      copyDirectory(sourceFd, temp, '', release);
    } finally {
      fs.closeSync(sourceFd);
    }
    fs.writeFileSync(path.join(temp, RevisionIdFile), `${identity}\n`, { mode: 0o644, flag: 'wx' });
    fs.renameSync(temp, dir);
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    if (error instanceof HookError) throw error;
    const why = describeFsError(error);
    throw new HookError('RELEASE_FAILED', `cannot make the release ${dir} from ${source}: ${why}`, { path: dir });
  }
  return { ...release, made: true };
}

/** Copy the directory open as `fromFd` to `to`, each entry read through that fd: a link swapped in is not followed. */
function copyDirectory(fromFd: number, to: string, relative: string, release: Release): void {
  const from = `/proc/self/fd/${fromFd}`;
  const stat = fs.fstatSync(fromFd);
  fs.mkdirSync(to, { mode: 0o700 });
  for (const name of fs.readdirSync(from)) {
    // The identity file is the release's own, written after the copy: a revision cannot plant one.
    if (relative === '' && name === RevisionIdFile) continue;
    const entry = `${from}/${name}`;
    const target = path.join(to, name);
    const what = fs.lstatSync(entry);
    if (what.isDirectory()) {
      const fd = fs.openSync(entry, DirFlags);
      try {
        copyDirectory(fd, target, path.join(relative, name), release);
      } finally {
        fs.closeSync(fd);
      }
    } else if (what.isSymbolicLink()) {
      // Re-made, not followed: the app resolves it later with its own rights.
      fs.symlinkSync(fs.readlinkSync(entry), target);
      fs.lchownSync(target, what.uid, what.gid);
    } else if (what.isFile()) {
      copyFile(entry, target, what, release);
    } else {
      // A device or FIFO in a revision is nothing an app runs from, and a device node would hand the app the device.
      release.skipped.push(path.join(relative, name));
    }
  }
  // Mode and owner last: a directory made 0700 first is not open to others while it fills.
  lockDirectory(to, stat, relative, release);
}

/**
 * A release's directory is the hook's user's (root's) and writable by no one else, whatever the revision said (a tar
 * keeps the build's uid, often the app user's): the app cannot rename what root later deletes or runs. The group stays;
 * a directory the revision gave another owner lends that owner's read and search bits to its group (a build's uid
 * comes with its own group), so the app reads what it read before.
 */
function lockDirectory(dir: string, stat: fs.Stats, relative: string, release: Release): void {
  const owner = process.geteuid?.() ?? 0;
  const lent = stat.uid === owner ? 0 : (stat.mode >> 3) & 0o050;
  const mode = ((stat.mode & 0o7777) | lent) & ~0o022;
  if (stat.uid !== owner || mode !== (stat.mode & 0o7777)) release.lockedDirs.push(relative || '.');
  try {
    fs.chownSync(dir, owner, stat.gid);
  } catch (error) {
    // Not root (a test, a hand run as the app user): the directory is already this user's; only the group stays.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM' || owner === 0) throw error;
  }
  fs.chmodSync(dir, mode);
}

/** A regular file: one more name for the same inode (same mode and owner), or a copy with both kept. */
function copyFile(from: string, to: string, stat: fs.Stats, release: Release): void {
  try {
    // link(2) does not follow a link at `from`: /proc/self/fd/N/name is resolved inside the open directory.
    fs.linkSync(from, to);
    release.linked += 1;
    return;
  } catch (error) {
    // Another file system (EXDEV) or one without hard links (EPERM): a copy, the same bytes and rights.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
  }
  const input = fs.openSync(from, O_RDONLY | O_NOFOLLOW);
  try {
    const output = fs.openSync(to, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.copyFileSync(`/proc/self/fd/${input}`, `/proc/self/fd/${output}`);
      fs.fchownSync(output, stat.uid, stat.gid);
      fs.fchmodSync(output, stat.mode & 0o7777);
    } finally {
      fs.closeSync(output);
    }
  } finally {
    fs.closeSync(input);
  }
  release.copied += 1;
}
