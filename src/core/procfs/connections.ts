import { DefaultProcRoot } from './boot.ts';
import { portMarker, readTcpSockets } from './net-tcp.ts';
import { scanSocketOwners } from './owners.ts';
import { listProcessTree } from './tree.ts';
import type { ProcessIdentity, ScanSkip, SocketOwner, TcpSocket } from './types.ts';

/** The client end of a connection, as the server's socket sees it. */
export interface ConnectionEnd {
  /** The server's port (its socket's local port). */
  localPort: number;
  /** The client's address and ephemeral port (the server socket's remote end). */
  remoteAddress: string;
  remotePort: number;
}

/** 127.0.0.1 and ::ffff:127.0.0.1 are one address seen from the two families. */
function sameAddress(a: string, b: string): boolean {
  const strip = (x: string) => (x.startsWith('::ffff:') ? x.slice(7) : x);
  return strip(a) === strip(b);
}

/**
 * Who owns the SERVER side of an established connection: the socket whose local port is the server's and whose
 * remote end is the client's. `preferTree`'s fds are read first; all processes' only if it is not found there.
 */
export function findConnectionOwners(
  conn: ConnectionEnd,
  procRoot = DefaultProcRoot,
  preferTree?: ProcessIdentity,
): { socket: TcpSocket | null; owners: SocketOwner[]; skipped: ScanSkip[] } {
  const clientMarker = portMarker(conn.remotePort);
  const socket =
    readTcpSockets(procRoot, {
      markers: [portMarker(conn.localPort)],
      keep: (line) => line.includes(clientMarker),
    }).find(
      (s) =>
        s.localPort === conn.localPort &&
        s.remotePort === conn.remotePort &&
        sameAddress(s.remoteAddress, conn.remoteAddress) &&
        s.inode !== 0,
    ) ?? null;
  if (socket === null) return { socket, owners: [], skipped: [] };
  const wanted = new Set([socket.inode]);
  if (preferTree) {
    const mine = scanSocketOwners(
      wanted,
      procRoot,
      listProcessTree(preferTree, procRoot).map((p) => p.pid),
    );
    if (mine.owners.has(socket.inode)) return { socket, owners: mine.owners.get(socket.inode)!, skipped: mine.skipped };
  }
  const all = scanSocketOwners(wanted, procRoot);
  return { socket, owners: all.owners.get(socket.inode) ?? [], skipped: all.skipped };
}
