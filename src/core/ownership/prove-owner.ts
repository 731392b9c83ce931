import { HookError } from '../errors.ts';
import { describeProcess, formatClock } from '../process/describe.ts';
import { quoteReason, readLogTail } from '../process/log-tail.ts';
import {
  checkTreeOwnsPort,
  DefaultListenerScans,
  DefaultProcRoot,
  findListeners,
  hasPermissionSkip,
  readBootId,
  readProcessInfo,
  rereadProcess,
} from '../procfs/index.ts';
import type { ProcessInfo, SocketOwner } from '../procfs/types.ts';
import type { StartRecord } from '../state/state.ts';
import { findUserDistrust } from '../state/trust.ts';

/**
 * The recorded process, re-read and confirmed to be the very one ApplicationStart launched; `when` (e.g. "within the
 * 5.0 s settle after answering health") says in the verdict when it was found gone.
 */
export function confirmRecordedProcess(
  record: StartRecord,
  port: number,
  appUser: string | undefined,
  when?: string,
): ProcessInfo {
  const started = record.startedAt.slice(11, 19) || '?';
  const recorded = `PID ${record.pid} (${record.command || 'unknown command'}, started ${started})`;
  if (record.bootId !== readBootId()) {
    throw new HookError(
      'STATE_INVALID',
      `the process recorded on port ${port}, ${recorded}, was started before the last reboot; it is not trusted`,
      { port, pid: record.pid },
    );
  }
  const now = rereadProcess(record);
  if (now === null) {
    // Only to name who has the PID now: a reused PID is someone else.
    const other = readProcessInfo(record.pid);
    const reused =
      other && other.startTime !== record.startTime
        ? `; PID ${record.pid} now belongs to ${describeProcess(other)}`
        : '';
    const holders = findListeners(port)
      .listeners.flatMap((l) => l.owners)
      .map(describeProcess);
    // Once it was proven, whoever holds the port now came after it: named as not the recorded one.
    const successor = when ? ', which is not the recorded process' : '';
    const held =
      holders.length > 0
        ? `; port ${port} is held by ${holders.join(', ')}${successor}`
        : `; nothing listens on port ${port}`;
    const tail = record.log ? readLogTail(record.log, 0, appUser) : [];
    // After it was proven, its own last words are the only exit reason there is: the hook is not its parent.
    const quote = when ? quoteReason(tail) : '';
    const gone = when ? `exited ${when}${quote}` : 'is no longer running';
    throw new HookError('NOT_OWNER', `the new process on port ${port}, ${recorded}, ${gone}${reused}${held}`, {
      port,
      pid: record.pid,
      evidence: tail.length > 0 ? [`last lines of ${record.log}:`, ...tail.map((l) => `  ${l}`)] : [],
    });
  }
  const distrust = findUserDistrust(now, appUser);
  // Another user's process is not what ApplicationStart launched as the app: a forged or stale record.
  if (distrust) {
    const message = `the process recorded on port ${port}, ${describeProcess(now)}, ${distrust}; it is not trusted`;
    throw new HookError('STATE_INVALID', message, { port, pid: record.pid });
  }
  return now;
}

/**
 * Prove every listener on `port` (IPv4 and IPv6) belongs to the new process's tree; otherwise name who else holds
 * it, whether anything listens at all, and what could not be read. `when` dates a failure, as for the process.
 */
export function proveTreeOwnsPort(
  info: ProcessInfo,
  port: number,
  when?: string,
  procRoot = DefaultProcRoot,
): { listeners: number } {
  const ownership = checkTreeOwnsPort(info, port, procRoot);
  if (ownership.owned) return { listeners: ownership.listeners.length };
  const newPid = `the new PID ${info.pid} (${info.comm}, started ${formatClock(info.startedAt)})`;
  const found = when ? `, found ${when}` : '';
  if (ownership.listeners.length === 0) {
    const notListening = when ? `stopped listening ${when}` : 'not listening';
    throw new HookError('NOT_OWNER', `nothing listens on port ${port}; ${newPid} is running but ${notListening}`, {
      port,
      pid: info.pid,
    });
  }
  if (ownership.foreign.length > 0) {
    const others = uniqueByPid(ownership.foreign).map(
      (o) => `${describeProcess(o)}${o.startedAt < info.startedAt ? ', before this deployment' : ''}`,
    );
    const alsoMine = ownership.listeners.some((l) => l.owners.some((o) => ownership.tree.some((t) => t.pid === o.pid)));
    throw new HookError(
      'NOT_OWNER',
      `port ${port} is held by ${others.join(' and ')}, ${alsoMine ? 'as well as' : 'not'} by ${newPid}${found}`,
      { port, pid: info.pid, foreign: ownership.foreign.map((o) => o.pid) },
    );
  }
  const unknown = ownership.unknown.map((l) => `${l.address}:${l.port}`).join(', ');
  const skipped = ownership.skipped
    .map((s) => `${s.path}: ${s.reason}`)
    .slice(0, 3)
    .join('; ');
  // Only a permission refusal (or not being root) makes an owner unreadable; else it kept vanishing as it was read.
  const unreadable = hasPermissionSkip(ownership.skipped) || process.getuid?.() !== 0;
  const why = unreadable
    ? `whose owner cannot be read${skipped ? ` (${skipped})` : ''}; an unknown owner is not proof (run as root)`
    : `whose owner was not found in ${DefaultListenerScans} reads of /proc (processes kept exiting as they were ` +
      `read${skipped ? `: ${skipped}` : ''}); an unknown owner is not proof`;
  throw new HookError('NOT_OWNER', `port ${port} has a listener (${unknown}) ${why}${found}`, { port, pid: info.pid });
}

/** The recorded process re-read, and its tree proven to own every listener on `port`: the two checks as one. */
export function confirmOwner(
  record: StartRecord,
  port: number,
  appUser: string | undefined,
  when?: string,
): { info: ProcessInfo; listeners: number } {
  const info = confirmRecordedProcess(record, port, appUser, when);
  return { info, ...proveTreeOwnsPort(info, port, when) };
}

function uniqueByPid(owners: SocketOwner[]): SocketOwner[] {
  return [...new Map(owners.map((o) => [o.pid, o])).values()];
}
