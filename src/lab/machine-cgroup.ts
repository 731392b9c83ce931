import fs from 'node:fs';
import path from 'node:path';

// systemd-nspawn --keep-unit puts a machine into the cgroup it runs in (payload/ and supervisor/ below it). Started
// from the same cgroup, two machines would share one tree: each one's system.slice/run-u4.service the other's too, so
// stopping a unit in one signals the other's processes and its cgroup never empties. Each machine gets its own.

/** One hierarchy systemd uses: the unified (cgroup2) one, or the v1 `name=systemd` one of a hybrid host. */
interface Hierarchy {
  /** Where it is mounted, and which cgroup that mount shows at its top. */
  mountPoint: string;
  mountRoot: string;
  /** This process's cgroup in it. */
  own: string;
}

/** The cgroup2 and `name=systemd` hierarchies with this process's place in each, from /proc/self. */
export function findSystemdHierarchies(procRoot = '/proc'): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(procRoot, 'self/cgroup'), 'utf8').split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    // Controller hierarchies (cpu, memory, …) are not systemd's: the machine's units are tracked in the two below.
    if (match !== null && (match[1] === '' || match[1] === 'name=systemd')) own.set(match[1]!, match[2]!);
  }
  const found: Hierarchy[] = [];
  for (const line of fs.readFileSync(path.join(procRoot, 'self/mountinfo'), 'utf8').split('\n')) {
    const [mount, super_] = line.split(' - ');
    if (mount === undefined || super_ === undefined) continue;
    const fields = mount.split(' ');
    const [fsType, , options = ''] = super_.split(' ');
    const key =
      fsType === 'cgroup2'
        ? ''
        : fsType === 'cgroup' && options.split(',').includes('name=systemd')
          ? 'name=systemd'
          : null;
    const ownPath = key === null ? undefined : own.get(key);
    // Not a systemd hierarchy, or one mounted twice (used where first found).
    if (ownPath === undefined) continue;
    found.push({ mountRoot: fields[3]!, mountPoint: fields[4]!, own: ownPath });
    own.delete(key!);
  }
  return found;
}

/** Make a cgroup named `name` below this process's own in each systemd hierarchy; the cgroup.procs files to join. */
export function createMachineCgroups(name: string, hierarchies = findSystemdHierarchies()): string[] {
  return hierarchies.map((h) => {
    const relative = h.own.startsWith(h.mountRoot) ? h.own.slice(h.mountRoot.length) : h.own;
    const dir = path.join(h.mountPoint, relative, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  });
}

/** Remove machine cgroups and everything the machine left below them, deepest first (cgroupfs takes only rmdir). */
export function removeMachineCgroups(dirs: string[]): void {
  for (const dir of dirs) removeTree(dir);
}

function removeTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    // Already gone (systemd-nspawn removed it).
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) removeTree(path.join(dir, entry.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // A process still in it (a machine that would not die): left to the kernel rather than failing the clean-up.
  }
}
