import { DefaultProcRoot } from './boot.ts';
import { ListenStateMarker, portMarker, readTcpSockets, TcpListen } from './net-tcp.ts';
import { scanSocketOwners } from './owners.ts';
import { scanUntilSettled } from './rescan.ts';
import type { Listener, ScanSkip, TcpSocket } from './types.ts';

/** The listening TCP sockets on a port, IPv4 and IPv6. */
export function readListenSockets(port: number, procRoot = DefaultProcRoot): TcpSocket[] {
  // Only rows whose local port and state match, as text, are decoded; the decoded values are checked again.
  return readTcpSockets(procRoot, [portMarker(port)], (line) => line.includes(ListenStateMarker)).filter(
    (s) => s.state === TcpListen && s.localPort === port,
  );
}

/**
 * Every listener on a port with every process that holds it (a full scan of all processes' fds); a listener whose
 * owner was not found is read again before it is reported without one (its owner may have just exited).
 */
export function findListeners(
  port: number,
  procRoot = DefaultProcRoot,
): { listeners: Listener[]; skipped: ScanSkip[] } {
  return scanUntilSettled(() => scanListeners(port, procRoot));
}

function scanListeners(port: number, procRoot: string): { listeners: Listener[]; skipped: ScanSkip[] } {
  const sockets = readListenSockets(port, procRoot);
  const { owners, skipped } = scanSocketOwners(new Set(sockets.map((s) => s.inode)), procRoot);
  return { listeners: sockets.map((s) => toListener(s, owners.get(s.inode) ?? [])), skipped };
}

/** A socket row as a Listener with the given owners. */
export function toListener(socket: TcpSocket, owners: Listener['owners']): Listener {
  return { family: socket.family, address: socket.localAddress, port: socket.localPort, inode: socket.inode, owners };
}
