import { DefaultProcRoot } from './boot.ts';
import { readTcpSockets, TcpListen } from './net-tcp.ts';
import { readListenSockets, toListener } from './listeners.ts';
import { scanSocketOwners } from './owners.ts';
import { listProcessTree } from './tree.ts';
import type { Listener, ProcessIdentity, ProcessInfo, ScanSkip, SocketOwner, TcpSocket } from './types.ts';

/** Whether a process tree owns every listener on a port, and if not, who else does or what could not be read. */
export interface TreeOwnership {
  port: number;
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
 * Does the tree rooted at `root` own every listener on `port`? Reads only the tree's fds first; all processes' fds
 * only when some listener is not the tree's, to name who holds it.
 */
export function checkTreeOwnsPort(root: ProcessIdentity, port: number, procRoot = DefaultProcRoot): TreeOwnership {
  const sockets = readListenSockets(port, procRoot);
  const tree = listProcessTree(root, procRoot);
  const wanted = new Set(sockets.map((s) => s.inode));
  const mine = scanSocketOwners(wanted, procRoot, tree.map((p) => p.pid));
  const base = { port, tree, skipped: mine.skipped };
  if (sockets.length > 0 && sockets.every((s) => mine.owners.has(s.inode))) {
    return { ...base, listeners: sockets.map((s) => toListener(s, mine.owners.get(s.inode)!)), owned: true, foreign: [], unknown: [], fullScan: false };
  }
  const all = scanSocketOwners(wanted, procRoot);
  const treePids = new Set(tree.map((p) => p.pid));
  const listeners = sockets.map((s) => toListener(s, all.owners.get(s.inode) ?? []));
  const foreign = listeners.flatMap((l) => l.owners.filter((o) => !treePids.has(o.pid)));
  const unknown = listeners.filter((l) => l.owners.length === 0);
  const owned = listeners.length > 0 && foreign.length === 0 && unknown.length === 0;
  return { ...base, listeners, owned, foreign, unknown, skipped: [...mine.skipped, ...all.skipped], fullScan: true };
}

/** The listening sockets a process tree holds on any port (to say where a process bound instead). */
export function listTreeListenSockets(root: ProcessIdentity, procRoot = DefaultProcRoot): TcpSocket[] {
  const listening = readTcpSockets(procRoot).filter((s) => s.state === TcpListen);
  const tree = listProcessTree(root, procRoot).map((p) => p.pid);
  const { owners } = scanSocketOwners(new Set(listening.map((s) => s.inode)), procRoot, tree);
  return listening.filter((s) => owners.has(s.inode));
}
