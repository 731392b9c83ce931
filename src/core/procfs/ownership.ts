import { DefaultProcRoot } from './boot.ts';
import { readListeningTcpSockets } from './net-tcp.ts';
import { readListenSockets, toListener } from './listeners.ts';
import { scanSocketOwners } from './owners.ts';
import { scanUntilSettled } from './rescan.ts';
import { isSameProcess, rereadProcess } from './process.ts';
import { listProcessTree } from './tree.ts';
import type { Listener, ProcessIdentity, ProcessInfo, ScanSkip, SocketOwner, TcpSocket } from './types.ts';

/** Whether a process tree owns every listener on a port, and if not, who else does or what could not be read. */
export interface TreeOwnership {
  port: number;
  /** The tree's members that were read: just the root when it alone holds every listener (the common case). */
  tree: ProcessInfo[];
  listeners: Listener[];
  /** At least one listener, each held by the tree, none by anyone else, none unreadable. */
  owned: boolean;
  foreign: SocketOwner[];
  unknown: Listener[];
  skipped: ScanSkip[];
  /** True when the answer needed every process's fds (to name a foreign owner), not just the tree's. */
  fullScan: boolean;
}

/**
 * Does the tree rooted at `root` own every listener on `port`? Reads the root's fds first, then its descendants';
 * all processes' fds only when some listener is not the tree's, to name who holds it. A listener whose owner was not
 * found is read again (its owner may have exited between the reads) before it counts as unknown.
 */
export function checkTreeOwnsPort(root: ProcessIdentity, port: number, procRoot = DefaultProcRoot): TreeOwnership {
  return scanUntilSettled(() => scanTreeOwnsPort(root, port, procRoot));
}

function scanTreeOwnsPort(root: ProcessIdentity, port: number, procRoot: string): TreeOwnership {
  const sockets = readListenSockets(port, procRoot);
  const wanted = new Set(sockets.map((s) => s.inode));
  const provenBy = (owners: Map<number, SocketOwner[]>) =>
    sockets.length > 0 && sockets.every((s) => owners.has(s.inode));
  const ownedBy = (
    tree: ProcessInfo[],
    scan: { owners: Map<number, SocketOwner[]>; skipped: ScanSkip[] },
  ): TreeOwnership => ({
    port,
    tree,
    skipped: scan.skipped,
    listeners: sockets.map((s) => toListener(s, scan.owners.get(s.inode)!)),
    owned: true,
    foreign: [],
    unknown: [],
    fullScan: false,
  });
  const rootInfo = rereadProcess(root, procRoot);
  // The common case costs the root's fds alone: a server that listens in the process portproof started.
  const byRoot = rootInfo ? scanSocketOwners(wanted, procRoot, [root.pid]) : null;
  if (rootInfo && byRoot && provenBy(byRoot.owners)) return ownedBy([rootInfo], byRoot);
  const tree = listProcessTree(root, procRoot);
  const mine = scanSocketOwners(
    wanted,
    procRoot,
    tree.map((p) => p.pid),
  );
  if (provenBy(mine.owners)) return ownedBy(tree, mine);
  const base = { port, tree, skipped: mine.skipped };
  const all = scanSocketOwners(wanted, procRoot);
  const treePids = new Set(tree.map((p) => p.pid));
  const listeners = sockets.map((s) => toListener(s, all.owners.get(s.inode) ?? []));
  const foreign = listeners.flatMap((l) => l.owners.filter((o) => !treePids.has(o.pid)));
  const unknown = listeners.filter((l) => l.owners.length === 0);
  const owned = listeners.length > 0 && foreign.length === 0 && unknown.length === 0;
  return { ...base, listeners, owned, foreign, unknown, skipped: [...mine.skipped, ...all.skipped], fullScan: true };
}

/** True while the identified process still runs and its tree owns every listener on `port` (a recorded app). */
export function stillOwnsPort(id: ProcessIdentity, port: number, procRoot = DefaultProcRoot): boolean {
  return isSameProcess(id, procRoot) && checkTreeOwnsPort(id, port, procRoot).owned;
}

/** The listening sockets a process tree holds on any port (to say where a process bound instead). */
export function listTreeListenSockets(root: ProcessIdentity, procRoot = DefaultProcRoot): TcpSocket[] {
  const listening = readListeningTcpSockets(procRoot);
  const tree = listProcessTree(root, procRoot).map((p) => p.pid);
  const { owners } = scanSocketOwners(new Set(listening.map((s) => s.inode)), procRoot, tree);
  return listening.filter((s) => owners.has(s.inode));
}
