// The /proc ownership core: who listens on a port, which process is which, and who owns a connection.
export { DefaultProcRoot, readBootId } from './boot.ts';
export { findConnectionOwners, type ConnectionEnd } from './connections.ts';
export { listPids, readSocketFds, readSocketLinks } from './fds.ts';
export { findListeners, readListenSockets } from './listeners.ts';
export { decodeAddress, parseNetTcp, readListeningTcpSockets, readTcpSockets, readTcpText } from './net-tcp.ts';
export { checkTreeOwnsPort, listTreeListenSockets, stillOwnsPort, type TreeOwnership } from './ownership.ts';
export { hasIdentity, isSameProcess, readProcessInfo, rereadProcess } from './process.ts';
export { DefaultListenerScans, hasPermissionSkip } from './rescan.ts';
export { parseStat } from './stat.ts';
export { readTimeWaitLoad } from './time-wait.ts';
export { listProcessTree } from './tree.ts';
export type * from './types.ts';
