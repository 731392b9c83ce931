import { createHash } from 'node:crypto';
import fs from 'node:fs';

const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fs.constants;
const DirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** The file in a release's root that holds the identity of the revision it was made from (never copied from one). */
export const RevisionIdFile = '.portproof-revision';

/**
 * What tells one unpacked revision from another without reading its bytes: every entry's path, kind, inode, size,
 * mtime (ns), mode, owner and link target, and the root's device and inode. A deployment ID alone does not (agent 2
 * names local deployments `local-<pid>`, and PIDs repeat); a retried ApplicationStart of the same revision gives the
 * same identity. Walked through directory fds, no link followed.
 */
export function identifyRevision(dir: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(dir, DirFlags);
  try {
    const root = fs.fstatSync(fd, { bigint: true });
    hash.update(`root ${root.dev}:${root.ino}\n`);
    hashDirectory(fd, '', hash);
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function hashDirectory(fd: number, relative: string, hash: ReturnType<typeof createHash>): void {
  const from = `/proc/self/fd/${fd}`;
  for (const name of fs.readdirSync(from).sort()) {
    if (relative === '' && name === RevisionIdFile) continue;
    const entry = `${from}/${name}`;
    const what = fs.lstatSync(entry, { bigint: true });
    const path = relative === '' ? name : `${relative}/${name}`;
    const link = what.isSymbolicLink() ? fs.readlinkSync(entry) : '';
    const fields = [what.mode, what.uid, what.gid, what.ino, what.size, what.mtimeNs].join(' ');
    hash.update(`${JSON.stringify(path)} ${fields} ${JSON.stringify(link)}\n`);
    if (!what.isDirectory()) continue;
    const child = fs.openSync(entry, DirFlags);
    try {
      hashDirectory(child, path, hash);
    } finally {
      fs.closeSync(child);
    }
  }
}

/** The revision identity recorded in a release; null when it has none (an older portproof made it) or is unreadable. */
export function readRevisionId(releaseDir: string): string | null {
  try {
    const fd = fs.openSync(`${releaseDir}/${RevisionIdFile}`, O_RDONLY | O_NOFOLLOW);
    try {
      return fs.readFileSync(fd, 'utf8').trim();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Missing or not a plain file: the release cannot be shown to hold this revision, so it is not reused.
    return null;
  }
}
