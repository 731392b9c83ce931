import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, type FileAttributes } from '../atomic-write.ts';
import { HookError } from '../errors.ts';
import { findOtherWriters } from '../root-only-dir.ts';

/** Links followed before giving up, as the kernel's own limit (ELOOP). */
const MaxLinks = 40;

/** The include as it is on disk: the file its path resolves to, its exact bytes (null when missing), mode and owner. */
export interface IncludeFile {
  /** The file the configured path names after following symlinks; the link itself is never replaced. */
  target: string;
  bytes: Buffer | null;
  attributes: FileAttributes;
}

/** Read the include's bytes through any symlinks, with what a rewrite must keep. */
export function readIncludeFile(file: string): IncludeFile {
  const target = followTrustedLinks(file);
  try {
    const bytes = fs.readFileSync(target);
    const stat = fs.statSync(target);
    return { target, bytes, attributes: { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid } };
  } catch (error) {
    // No include yet (a first deployment): the new one is created where the path (or its link) points.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { target, bytes: null, attributes: { mode: 0o644 } };
  }
}

/** Replace the include's target atomically in its own directory, keeping its mode and owner. */
export function writeIncludeFile(include: IncludeFile, bytes: Buffer): void {
  writeFileAtomic(include.target, bytes, include.attributes);
}

/** Put the include back as it was: its exact previous bytes, or no file if there was none. */
export function restoreIncludeFile(include: IncludeFile): void {
  if (include.bytes === null) fs.rmSync(include.target, { force: true });
  else writeFileAtomic(include.target, include.bytes, include.attributes);
}

/**
 * The path a chain of symlinks ends at (relative links resolved from their own directory; it may not exist yet),
 * refusing a chain someone other than root could redirect: the switch writes the target as root (a temp
 * file renamed in the target's directory), and a refusal would quote what it read. Every link must be root's, and the
 * directory of every link and of the target root's and not writable by group or others (a sticky root directory such
 * as /tmp is fine: others cannot replace root's entries there). The target file itself may be anyone's.
 */
export function followTrustedLinks(file: string): string {
  let current = path.resolve(file);
  for (let hops = 0; hops < MaxLinks; hops += 1) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      // A missing file (or a dangling link's target) is where a first include is created: its directory still counts.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (hops > 0) checkTrustedDirectory(file, current);
      return current;
    }
    if (!stat.isSymbolicLink()) {
      // A plain file named directly is the operator's choice; only a followed link's target has its directory checked.
      if (hops > 0) checkTrustedDirectory(file, current);
      return current;
    }
    if (stat.uid !== 0) throw unsafeLink(file, `the link ${current} is owned by uid ${stat.uid}, not root`);
    checkTrustedDirectory(file, current);
    current = path.resolve(path.dirname(current), fs.readlinkSync(current));
  }
  throw Object.assign(new Error(`too many levels of symbolic links: ${file}`), { code: 'ELOOP' });
}

/** Refuse unless the directory holding `entry` is root's and only root can add, remove or rename entries in it. */
function checkTrustedDirectory(file: string, entry: string): void {
  const directory = path.dirname(entry);
  const writers = findOtherWriters(directory, fs.statSync(directory), { stickyOk: true });
  if (writers) throw unsafeLink(file, `the directory ${directory} of ${entry} is ${writers.problem}`);
}

function unsafeLink(file: string, why: string): HookError {
  const message =
    `nginx include ${file} is a symlink that others could redirect: ${why}; nothing was read, ` +
    "nothing signalled (make every link and the directories they and the target sit in root's, not group- or " +
    'world-writable)';
  return new HookError('INCLUDE_UNSAFE', message, { include: file });
}
