// Shapes shared by the /proc parsers and the ownership queries built on them.

/** A process as the kernel names it: a PID alone can be reused, PID + start time + boot id cannot. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot. */
  startTime: number;
  /** /proc/sys/kernel/random/boot_id */
  bootId: string;
  /** Under systemd: the unit's cgroup, whose processes are the tree (instead of the process's descendants). */
  cgroup?: string;
}

/** Everything portproof reports about a process. */
export interface ProcessInfo extends ProcessIdentity {
  ppid: number;
  pgid: number;
  sid: number;
  /** Stat field 3: R, S, D, Z (zombie: exited, not yet reaped), … */
  state: string;
  /** Real uid from /proc/PID/status; null when it could not be read. */
  uid: number | null;
  /** User name from /etc/passwd, or the uid as text. */
  user: string;
  /** The kernel's short name (stat field 2, without the parentheses). */
  comm: string;
  /** argv joined by spaces; `[comm]` when cmdline is empty (kernel threads, zombies). */
  command: string;
  /** Wall-clock start, from btime in /proc/stat plus startTime / clock ticks per second. */
  startedAt: Date;
}

/** A process holding a socket, and the fd it holds it by. */
export interface SocketOwner extends ProcessInfo {
  fd: number;
}

/** Why part of a scan was passed over: recorded, reported, never counted as proof. */
export interface ScanSkip {
  pid: number;
  path: string;
  reason: 'vanished' | 'permission' | 'unreadable';
  detail: string;
}

/** One row of /proc/net/tcp or /proc/net/tcp6. */
export interface TcpSocket {
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Kernel TCP state; 0x0A is LISTEN, 0x01 ESTABLISHED. */
  state: number;
  uid: number;
  inode: number;
  /** What is left of the socket's timer (tm->when), in jiffies: a TIME_WAIT made anew starts it again. */
  timerJiffies: number;
}

/** A listening socket on a port with every process that holds it. */
export interface Listener {
  family: 4 | 6;
  address: string;
  port: number;
  inode: number;
  owners: SocketOwner[];
}
