import { formatDuration } from '../config/duration.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { findListeners, hasIdentity, isSameProcess, readListenSockets, rereadProcess } from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import type { StartRecord } from '../state/state.ts';
import { findUserDistrust } from '../state/trust.ts';
import { pollUntil } from '../wait.ts';
import { describeProcess } from './describe.ts';
import { signalProcess } from './signal.ts';
import { DefaultHolderRescanMs, DefaultKillWaitMs } from '../defaults.ts';

/** One process that was stopped, and how. */
export interface StoppedProcess {
  info: ProcessInfo;
  signal: NodeJS.Signals;
  /** From the first signal until it was gone. */
  exitedAfterMs: number;
  /** The systemd unit it ran in, when it was stopped by stopping that unit. */
  unit?: string;
}

/** What freeing a port took. */
export interface FreePortReport {
  port: number;
  stopped: StoppedProcess[];
  /** From the first signal until the port had no listener. */
  releasedAfterMs: number;
  /** From the last process's exit until the port was seen free. */
  releaseLagMs: number;
  /** Why the process recorded on the port was not trusted as the record although it runs, when its user was wrong. */
  notTrusted?: string;
  /** That process listens on the port, so it was stopped as a listener (not signalled as the record's group). */
  notTrustedListens?: boolean;
}

/** How to stop: the configured signal and grace, the process portproof recorded on this port, and the deadline. */
export interface FreePortOptions {
  signal: NodeJS.Signals;
  graceMs: number;
  recorded: StartRecord | undefined;
  /** config app.user: the recorded process must run as this user (root when none). */
  appUser: string | undefined;
  untilMs: number;
  out: Progress;
}

/**
 * Free a port: signal every process listening on it (and the process portproof started there), wait until all have
 * exited and nothing listens, SIGKILL after the grace period. Nothing listening is success.
 */
export async function freePort(port: number, options: FreePortOptions): Promise<FreePortReport> {
  const { targets, notTrusted, notTrustedListens } = findStopTargets(port, options.recorded, options.appUser);
  if (notTrusted && notTrustedListens) {
    const fate = `it is stopped only as a listener on port ${port}`;
    options.out.say(`Not trusting ${notTrusted} as portproof's record; ${fate}`);
  } else if (notTrusted) {
    options.out.say(`Not signalling ${notTrusted}`);
  }
  const stopped: StoppedProcess[] = [];
  if (targets.length === 0) return { port, stopped, releasedAfterMs: 0, releaseLagMs: 0, notTrusted };
  const startedAt = Date.now();
  sendToAll(targets, options.signal, options.out);
  const exitedAt = new Map<number, number>();
  const graceUntil = Math.min(startedAt + options.graceMs, options.untilMs);
  options.out.begin(
    `Waiting for ${targets.length === 1 ? 'it' : `${targets.length} processes`} to exit and port ${port} to be free`,
  );
  let signal = options.signal;
  let scannedAt = Date.now();
  const check = () => {
    const exited = recordExits(targets, exitedAt);
    if (readListenSockets(port).length === 0) return exited ? true : undefined;
    // Still held: a process can take the socket over (a drain child forked on the signal). Look for new holders
    // on every poll once the known ones are gone, and now and then while they still run (a scan reads every fd).
    if (exited || Date.now() - scannedAt >= DefaultHolderRescanMs) {
      scannedAt = Date.now();
      adoptNewHolders(port, targets, signal, options.out);
    }
    return undefined;
  };
  let result = await pollUntil(check, graceUntil, { onTick: () => options.out.progress(startedAt, graceUntil) });
  let killedAt = Infinity;
  if (!result.done && Date.now() < options.untilMs) {
    killedAt = Date.now();
    signal = 'SIGKILL';
    options.out.say(`Still running after ${formatDuration(options.graceMs)} grace: sending SIGKILL`);
    adoptNewHolders(port, targets, signal, options.out);
    sendToAll(
      targets.filter((t) => !exitedAt.has(t.info.pid) && t.adoptedWith !== 'SIGKILL'),
      'SIGKILL',
      options.out,
    );
    result = await pollUntil(check, Math.min(Date.now() + DefaultKillWaitMs, options.untilMs));
  }
  const releasedAt = Date.now();
  for (const target of targets) {
    const exited = exitedAt.get(target.info.pid);
    const how = exited !== undefined && exited >= killedAt ? 'SIGKILL' : options.signal;
    if (exited !== undefined) stopped.push({ info: target.info, signal: how, exitedAfterMs: exited - startedAt });
  }
  if (!result.done) throw stillHeldError(port, targets, exitedAt, releasedAt - startedAt);
  const lastExit = Math.max(...[...exitedAt.values()]);
  const releaseLagMs = Math.max(0, releasedAt - lastExit);
  return { port, stopped, releasedAfterMs: releasedAt - startedAt, releaseLagMs, notTrusted, notTrustedListens };
}

/** Whom to signal, and why the recorded process is not among them when it runs as another user. */
interface StopTargets {
  targets: StopTarget[];
  notTrusted?: string;
  /** The untrusted recorded process listens on the port: it is among the targets, as a listener only. */
  notTrustedListens?: boolean;
}

/** Signal every process now holding the port that is not a target yet (identity re-read), and make it one. */
function adoptNewHolders(port: number, targets: StopTarget[], signal: NodeJS.Signals, out: Progress): void {
  const known = (owner: ProcessInfo) => targets.some((t) => hasIdentity(t.info, owner));
  const holders = findListeners(port).listeners.flatMap((l) => l.owners);
  for (const owner of new Map(holders.map((o) => [o.pid, o])).values()) {
    if (known(owner)) continue;
    targets.push({ info: owner, group: false, adoptedWith: signal });
    out.say(`Sending ${signal} to ${describeProcess(owner)}: it took over port ${port}`, { pid: owner.pid, signal });
    signalProcess(owner, signal, false);
  }
}

interface StopTarget {
  info: ProcessInfo;
  /** Signal the whole group: it is the first group of the session portproof started. */
  group: boolean;
  /** Found holding the port after the first signal, and sent this signal then. */
  adoptedWith?: NodeJS.Signals;
}

function findStopTargets(port: number, recorded: StartRecord | undefined, appUser: string | undefined): StopTargets {
  const { listeners } = findListeners(port);
  const unknown = listeners.filter((l) => l.owners.length === 0);
  if (unknown.length > 0) {
    throw new HookError(
      'OWNER_UNKNOWN',
      `port ${port} has a listener whose owner cannot be read ` +
        `(${unknown.map((l) => `${l.address} inode ${l.inode}`).join(', ')}); run the hook as root`,
      { port },
    );
  }
  const targets = new Map<number, StopTarget>();
  for (const owner of listeners.flatMap((l) => l.owners)) targets.set(owner.pid, { info: owner, group: false });
  // The recorded process counts only if it is still the very process portproof started: a reused PID is someone else.
  const leader = recorded ? rereadProcess(recorded) : null;
  if (!leader) return { targets: [...targets.values()] };
  // Running as another user than the app's, it is not what ApplicationStart launched (a forged or stale record).
  const distrust = findUserDistrust(leader, appUser);
  if (distrust) {
    const notTrusted = `the recorded ${describeProcess(leader)}: it ${distrust}`;
    // Still a listener on the port (an app.user change): stopped as any holder is, never as the record's group.
    return { targets: [...targets.values()], notTrusted, notTrustedListens: targets.has(leader.pid) };
  }
  targets.set(leader.pid, { info: leader, group: leader.pgid === leader.sid });
  return { targets: [...targets.values()] };
}

function sendToAll(targets: StopTarget[], signal: NodeJS.Signals, out: Progress): void {
  const groups = new Set(targets.filter((t) => t.group).map((t) => t.info.pgid));
  for (const target of targets) {
    // A member of a group that is signalled as a whole gets the signal once, through its group.
    if (!target.group && groups.has(target.info.pgid)) continue;
    out.say(`Sending ${signal} to ${describeProcess(target.info)}${target.group ? ' and its process group' : ''}`, {
      pid: target.info.pid,
      signal,
    });
    signalProcess(target.info, signal, target.group);
  }
}

function recordExits(targets: StopTarget[], exitedAt: Map<number, number>): boolean {
  for (const target of targets) {
    if (!exitedAt.has(target.info.pid) && !isSameProcess(target.info)) exitedAt.set(target.info.pid, Date.now());
  }
  return exitedAt.size === targets.length;
}

function stillHeldError(
  port: number,
  targets: StopTarget[],
  exitedAt: Map<number, number>,
  waitedMs: number,
): HookError {
  const alive = targets.filter((t) => !exitedAt.has(t.info.pid)).map((t) => describeProcess(t.info));
  const holders = findListeners(port)
    .listeners.flatMap((l) => l.owners)
    .map(describeProcess);
  const who =
    alive.length > 0
      ? `${alive.join(', ')} still running`
      : `port still held by ${holders.join(', ') || 'an unknown owner'}`;
  return new HookError('STOP_FAILED', `port ${port} not free after ${formatDuration(waitedMs)}: ${who}`, {
    port,
    durationMs: waitedMs,
  });
}
