import fs from 'node:fs';
import path from 'node:path';

/** File systems whose contents a reboot empties. */
const VolatileTypes = new Set(['tmpfs', 'ramfs']);

/** The mount that holds a path: where it is mounted, its file system type and source. */
export interface MountOf {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** `\040` and the other octal escapes mountinfo writes for spaces, tabs, newlines and backslashes. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * The mount holding `file` per the text of /proc/self/mountinfo: the last mount whose mount point is `file` or one of
 * its parents (a later mount over the same point hides the earlier). Fields: id, parent, dev, root, mount point,
 * options, optional fields up to `-`, then the type and the source.
 */
export function findMountOf(mountinfo: string, file: string): MountOf | null {
  let found: MountOf | null = null;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || fields.length < dash + 3) continue;
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    const inside = mountPoint === '/' || file === mountPoint || file.startsWith(`${mountPoint}/`);
    if (!inside) continue;
    if (found === null || mountPoint.length >= found.mountPoint.length) {
      found = { mountPoint, fsType: fields[dash + 1] ?? '', source: unescapeMountPath(fields[dash + 2] ?? '') };
    }
  }
  return found;
}

/**
 * A line naming `stateDir` when a reboot empties the file system that holds it (tmpfs, ramfs): the release, the
 * unit's env file and its log would be gone when the unit starts at boot. Null when it survives or cannot be told.
 */
export function checkStateSurvivesReboot(stateDir: string, mountinfo = readMountinfo()): string | null {
  if (mountinfo === null) return null;
  const mount = findMountOf(mountinfo, resolveExisting(stateDir));
  if (mount === null || !VolatileTypes.has(mount.fsType)) return null;
  const why = 'a reboot empties it, and the unit that starts at boot runs from its release and env file there';
  const fix = 'set stateDir on a disk (the default /var/lib/portproof), or app.supervisor: direct';
  return `stateDir: ${stateDir} is on ${mount.fsType} (mounted at ${mount.mountPoint}); ${why}; ${fix}`;
}

function readMountinfo(): string | null {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // No /proc (a chroot): nothing can be told, so nothing is refused.
    return null;
  }
}

/** The path with its links resolved as far as it exists (a stateDir not made yet lives where its parent does). */
function resolveExisting(file: string): string {
  let rest = '';
  for (let at = path.resolve(file); ; at = path.dirname(at)) {
    try {
      return path.join(fs.realpathSync(at), rest);
    } catch {
      // Not there yet: its nearest existing parent decides.
      if (at === '/') return path.resolve(file);
      rest = path.join(path.basename(at), rest);
    }
  }
}
