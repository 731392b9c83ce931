import { DefaultProcRoot } from './boot.ts';
import { portMarker, readListeningTcpSockets } from './net-tcp.ts';
import { scanSocketOwners } from './owners.ts';
import { scanUntilSettled } from './rescan.ts';
import type { Listener, ScanSkip, TcpSocket } from './types.ts';

/** The listening TCP sockets on a port, IPv4 and IPv6. */
export function readListenSockets(port: number, procRoot = DefaultProcRoot): TcpSocket[] {
  // Only the listeners' rows are read, and of them only those naming the port are decoded (checked again after).
  return readListeningTcpSockets(procRoot, [portMarker(port)]).filter((s) => s.localPort === port);
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
