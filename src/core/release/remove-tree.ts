import fs from 'node:fs';

const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fs.constants;
const DirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** How often one entry is looked at again when it changed under the walk (swapped, refilled) before it is left. */
const DefaultAttempts = 20;

/** What a removal left behind: entries it would not or could not delete, each with the reason. */
export interface RemoveReport {
  removed: number;
  left: string[];
}

/**
 * Delete the entry `name` of the directory `parent` and everything below it, as root, where another user may rename
 * entries inside it while it runs: every step is addressed through an open directory (`/proc/self/fd/<fd>/<name>`,
 * resolved inside that directory, as openat/unlinkat would), each directory is opened without following a link and
 * checked to be the one listed (device and inode), and a link swapped in is removed as a link, never followed. Entries
 * on another file system (a mount) are left and named. `parent` itself must be a directory only root can write.
 */
export function removeTree(parent: string, name: string): RemoveReport {
  const report: RemoveReport = { removed: 0, left: [] };
  const fd = fs.openSync(parent, DirFlags);
  try {
    removeEntry(fd, name, fs.fstatSync(fd).dev, name, report);
  } finally {
    fs.closeSync(fd);
  }
  return report;
}

/** Remove `name` inside the directory open as `dirFd`; `shown` is its path below the tree's root, for the report. */
function removeEntry(dirFd: number, name: string, dev: number, shown: string, report: RemoveReport): void {
  const at = `/proc/self/fd/${dirFd}/${name}`;
  for (let attempt = 0; attempt < DefaultAttempts; attempt++) {
    let listed: fs.Stats;
    try {
      listed = fs.lstatSync(at);
    } catch (error) {
      // Gone already (someone else removed it): nothing to delete.
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    if (listed.dev !== dev) {
      // A mount inside the release: another file system is not the release's to delete.
      report.left.push(`${shown} (another file system)`);
      return;
    }
    if (!listed.isDirectory()) {
      if (tryStep(() => fs.unlinkSync(at), ['EISDIR', 'EPERM'])) report.removed += 1;
      // EISDIR/EPERM: a directory was put there since the lstat; look again.
      else continue;
      return;
    }
    const emptied = emptyListedDirectory(at, listed, shown, report);
    if (emptied === 'changed') continue;
    // ENOTEMPTY: refilled since it was emptied; ENOTDIR: swapped for a link or file since. Look again either way.
    if (tryStep(() => fs.rmdirSync(at), ['ENOTEMPTY', 'EEXIST', 'ENOTDIR'])) {
      report.removed += 1;
      return;
    }
  }
  report.left.push(`${shown} (it kept changing while it was deleted)`);
}

/** Open the directory at `at` without following a link, check it is the one `listed`, and remove what it holds. */
function emptyListedDirectory(
  at: string,
  listed: fs.Stats,
  shown: string,
  report: RemoveReport,
): 'emptied' | 'changed' {
  let fd: number;
  try {
    fd = fs.openSync(at, DirFlags);
  } catch (error) {
    // ELOOP/ENOTDIR: a link or a file was swapped in since the lstat; ENOENT: renamed away. Look again.
    if (['ELOOP', 'ENOTDIR', 'ENOENT'].includes(code(error) ?? '')) return 'changed';
    throw error;
  }
  try {
    const opened = fs.fstatSync(fd);
    // Another directory renamed into its place since the lstat: not the one listed, so not walked.
    if (opened.dev !== listed.dev || opened.ino !== listed.ino) return 'changed';
    for (const child of fs.readdirSync(`/proc/self/fd/${fd}`)) {
      removeEntry(fd, child, listed.dev, `${shown}/${child}`, report);
    }
    return 'emptied';
  } finally {
    fs.closeSync(fd);
  }
}

/** Run one deleting step: true when done or already gone, false on an errno in `retry`; others are thrown. */
function tryStep(step: () => void, retry: string[]): boolean {
  try {
    step();
    return true;
  } catch (error) {
    if (code(error) === 'ENOENT') return true;
    if (retry.includes(code(error) ?? '')) return false;
    throw error;
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}
