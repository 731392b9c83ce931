import { formatDuration } from '../config/duration.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import {
  checkTreeOwnsPort,
  findListeners,
  isSameProcess,
  listTreeListenSockets,
  readListenSockets,
  rereadProcess,
} from '../procfs/index.ts';
import type { ProcessIdentity, ProcessInfo } from '../procfs/types.ts';
import { pollUntil } from '../wait.ts';
import { describeExit, describeProcess } from './describe.ts';
import { exitedAtStartError, hasStartMark, type ExitStatus, type LaunchedApp } from './launch.ts';
import { readLogTail } from './log-tail.ts';
import { findSessionRoot, isDaemonOfStart, isSessionMember, scanSession, type SessionScan } from './session.ts';
import { signalProcess } from './signal.ts';
import { DefaultAbandonGraceMs, DefaultInterruptGraceMs, DefaultSessionRescanMs } from '../defaults.ts';

/** The process that bound: what the state records and ValidateService proves. */
export interface BoundApp {
  /** Re-read once bound, so it is named as it runs (`java`), not as its launcher or shim began. */
  info: ProcessInfo;
  /** From the spawn until it listened. */
  bindMs: number;
  /** The start command portproof spawned, when the bound process is another one (a backgrounding script). */
  launcher: { info: ProcessInfo; exit: ExitStatus | null } | null;
}

type Outcome =
  | { kind: 'bound'; owner: ProcessInfo; holders: Set<number> }
  | { kind: 'daemon'; owners: ProcessInfo[] }
  | { kind: 'foreign'; owners: ProcessInfo[] }
  | { kind: 'exited' };

/**
 * Wait until the new process tree listens on `port`: the started process, its descendants, and what it left running
 * in its session (a script that backgrounds the app and exits 0 is followed to the app). Fails early when the start
 * command fails or leaves nothing, when a daemon that left the session takes the port (it is stopped), or at
 * `untilMs` naming what it listens on instead and who holds the port; a process given up on is stopped.
 */
export async function waitForBind(app: LaunchedApp, port: number, untilMs: number, out: Progress): Promise<BoundApp> {
  const startedAt = Date.now();
  const launcher = app.info;
  let following: string[] = [];
  let scan: SessionScan | null = null;
  let scannedAt = 0;
  out.begin(`Waiting for PID ${app.info.pid} to listen on port ${port}`);
  const result = await pollUntil<Outcome>(
    () => {
      const exit = app.exited();
      // A start command that failed is the failure, whatever it left behind.
      if (exit !== null && !isCleanExit(exit)) return { kind: 'exited' };
      const holder = findPortHolder(launcher, port);
      if (holder !== undefined || exit === null) return holder;
      // The session is read from every process's stat: now and then, not on every 50 ms poll.
      if (scan === null || Date.now() - scannedAt >= DefaultSessionRescanMs) {
        scan = scanSession(launcher);
        scannedAt = Date.now();
      }
      if (scan.members.length > 0 && following.length === 0) {
        following = scan.members.map((m) => `PID ${m.pid} (${m.comm})`);
        const left = scan.members.map(describeProcess).join(', ');
        out.say(`PID ${app.info.pid} exited with code 0; following what it left running in its session: ${left}`);
      }
      // Members remain (a backgrounded app on its way to bind), or a new session appeared (perhaps a daemon): wait.
      return scan.members.length > 0 || scan.detached.length > 0 ? undefined : { kind: 'exited' };
    },
    untilMs,
    { onTick: () => out.progress(startedAt, untilMs) },
  );
  if (!result.done) throw await abandon(app, launcher, port, result.waitedMs, out);
  const outcome = result.value;
  if (outcome.kind === 'exited') {
    await stopAll(scanSession(launcher).members, out, 'left in its session by the failed start command');
    const left = following.length > 0 ? ` and what it left in its session (${following.join(', ')}) exited too,` : '';
    throw exitedAtStartError(app.argv, port, app.exited(), app.logFile, app.logOffset, app.user, app.info.pid, left);
  }
  if (outcome.kind === 'daemon') throw await refuseDaemon(app, launcher, port, outcome.owners, out);
  if (outcome.kind === 'foreign') throw await refuseForeign(app, launcher, port, outcome.owners, out);
  const bindMs = Date.now() - app.spawnedAt;
  const root = findSessionRoot(outcome.owner, launcher, outcome.holders);
  // Re-read after the bind: an exec'ing launcher or shim now runs as the app itself.
  const bound = rereadProcess(root) ?? root;
  const via = bound.pid === app.info.pid ? null : { info: app.info, exit: app.exited() };
  return { info: bound, bindMs, launcher: via };
}

/** Who listens on the port, as this start sees it: its tree or session, a daemon it let loose, or neither. */
function findPortHolder(launcher: ProcessIdentity, port: number): Outcome | undefined {
  // Nothing listens (the usual wait): one read of /proc/net/tcp*, no fd scan.
  if (readListenSockets(port).length === 0) return undefined;
  const ownership = checkTreeOwnsPort(launcher, port);
  const treePids = new Set(ownership.tree.map((p) => p.pid));
  const owners = ownership.listeners.flatMap((l) => l.owners);
  const mine = owners.find((o) => treePids.has(o.pid)) ?? owners.find((o) => isSessionMember(o, launcher));
  if (mine) return { kind: 'bound', owner: mine, holders: new Set(owners.map((o) => o.pid)) };
  // An older holder (the port was taken again after it was freed) is not ours: the app fails on it or times out.
  const fresh = owners.filter((o) => o.startTime >= launcher.startTime && o.bootId === launcher.bootId);
  if (fresh.length === 0) return undefined;
  // Started after the spawn in a daemon-like session newer than the spawn: a daemon this start let loose.
  const daemons = fresh.filter((o) => isDaemonOfStart(o.sid, launcher));
  if (daemons.length > 0) return { kind: 'daemon', owners: unique(daemons) };
  // New, but in a session older than the spawn: something else restarts it (a supervisor loop); never stopped here.
  return { kind: 'foreign', owners: unique(fresh) };
}

async function refuseDaemon(
  app: LaunchedApp,
  launcher: ProcessIdentity,
  port: number,
  owners: ProcessInfo[],
  out: Progress,
): Promise<HookError> {
  const who = owners.map(describeProcess).join(' and ');
  const exit = app.exited();
  const how = exit ? describeExit(exit) : 'is still running';
  const started = `the start command, PID ${app.info.pid} (${app.info.comm}), ${how}`;
  await stopAll([...owners, ...scanSession(launcher).members], out, `it left the start command's session`);
  return new HookError(
    'NOT_OWNER',
    `${who} listening on port ${port} left the start command's session (setsid or a double fork: a daemon), so it ` +
      `cannot be proved to be this start's and was stopped; ${started}. Run it in the foreground (no nohup, & or ` +
      'daemon mode), or name your own unit for it as app.unit (Type=forking with PIDFile=)',
    { port, pid: owners[0]!.pid, foreign: owners.map((o) => o.pid) },
  );
}

async function refuseForeign(
  app: LaunchedApp,
  launcher: ProcessIdentity,
  port: number,
  owners: ProcessInfo[],
  out: Progress,
): Promise<HookError> {
  const who = owners.map(describeProcess).join(' and ');
  const mine = scanSession(launcher).members;
  await stopAll(mine, out, `port ${port} was taken by a foreign process`);
  const ours =
    mine.length > 0
      ? `what this start ran was stopped (${mine.map((m) => `PID ${m.pid} (${m.comm})`).join(', ')})`
      : `the start command, PID ${app.info.pid} (${app.info.comm}), is no longer running`;
  return new HookError(
    'NOT_OWNER',
    `port ${port} was taken during the start by ${who}, a foreign process: its session predates this start, so ` +
      `something else restarts it (a supervisor or a loop); it was not stopped, and ${ours}. Stop whatever ` +
      `restarts it on port ${port}`,
    { port, pid: owners[0]!.pid, foreign: owners.map((o) => o.pid) },
  );
}

async function abandon(
  app: LaunchedApp,
  launcher: ProcessIdentity,
  port: number,
  waitedMs: number,
  out: Progress,
): Promise<HookError> {
  const scan = scanSession(launcher);
  const members = scan.members;
  const loose = scan.detached.filter((d) => !members.some((m) => m.pid === d.pid));
  const ours = loose.filter((d) => isLooseFromStart(d, app, launcher));
  // Others that look like a daemon of this start but lack its mark: named (a few), not stopped.
  const unproved = loose
    .filter((d) => !ours.includes(d) && d.user === app.user && isDaemonOfStart(d.sid, launcher))
    .slice(0, 3);
  const rootInfo = members.find((m) => m.pid === launcher.pid) ?? members[0];
  const holders = findListeners(port)
    .listeners.flatMap((l) => l.owners)
    .map(describeProcess);
  const held = holders.length > 0 ? `; port ${port} is held by ${holders.join(', ')}` : '';
  const evidence = readLogTail(app.logFile, app.logOffset, app.user);
  const context = {
    port,
    pid: rootInfo?.pid ?? app.info.pid,
    durationMs: waitedMs,
    evidence: evidence.length > 0 ? [`last lines of ${app.logFile}:`, ...evidence.map((l) => `  ${l}`)] : [],
  };
  const within = formatDuration(waitedMs);
  await stopAll(ours, out, "it left the start command's session (a daemon) and did not listen in time");
  const daemons = describeLoose(ours, unproved);
  if (rootInfo === undefined) {
    const how = describeExit(app.exited() ?? { code: null, signal: null });
    // "Nothing running" only when nothing it may have let loose runs either.
    const anyLoose = ours.length > 0 || unproved.length > 0;
    const left = anyLoose ? 'left nothing in its session' : 'left nothing running in its session';
    const what = `new PID ${app.info.pid} (${app.info.comm}) ${how} and ${left}${daemons}`;
    const none = `nothing it started listened on port ${port} within ${within}`;
    return new HookError('START_TIMEOUT', `${what}; ${none}${held}`, context);
  }
  const root = findSessionRoot(rootInfo, launcher);
  const elsewhere = listTreeListenSockets(root).map((s) => `${s.localAddress}:${s.localPort}`);
  const listens = elsewhere.length > 0 ? `it listens on ${elsewhere.join(', ')} instead` : 'it listens on no TCP port';
  await stopAll(members, out, 'it did not bind in time');
  const what = `new PID ${root.pid} is running but did not listen on port ${port} within ${within}`;
  return new HookError('START_TIMEOUT', `${what}: ${listens}${held}${daemons}`, context);
}

/**
 * A process that left the start command's session can be shown to be this start's daemon: it runs as the app, its
 * session is daemon-like and newer than the spawn, and it carries this start's mark in its environment (a daemon
 * inherits it; another deployment's or the host's processes do not).
 */
function isLooseFromStart(info: ProcessInfo, app: LaunchedApp, launcher: ProcessIdentity): boolean {
  return (
    info.user === app.user &&
    info.bootId === launcher.bootId &&
    isDaemonOfStart(info.sid, launcher) &&
    hasStartMark(info.pid, app.startMark)
  );
}

/** "; it left PID 4712 (java) outside its session (a daemon), stopped" and what was left running, and why. */
function describeLoose(ours: ProcessInfo[], unproved: ProcessInfo[]): string {
  const name = (list: ProcessInfo[]) => list.map((p) => `PID ${p.pid} (${p.comm})`).join(', ');
  const stopped = ours.length > 0 ? `; it left ${name(ours)} outside its session (a daemon), stopped since` : '';
  const why = "started since in a new session, but without this start's PORTPROOF_START mark: not shown to be its";
  const left = unproved.length > 0 ? `; not stopped ${name(unproved)}: ${why}` : '';
  return `${stopped}${left}`;
}

/**
 * On an interrupt before the bind was recorded: stop what this start left running (its session, and the daemons
 * proved its), identity re-read per signal; a clause for the verdict saying what was stopped.
 */
export async function stopUnrecordedStart(app: LaunchedApp, out: Progress): Promise<string> {
  const launcher = app.info;
  const scan = scanSession(launcher);
  const loose = scan.detached.filter((d) => isLooseFromStart(d, app, launcher));
  const targets = unique([...scan.members, ...loose]);
  if (targets.length === 0) return `the new PID ${app.info.pid} had left nothing running`;
  await stopAll(targets, out, 'the start was interrupted before it was recorded as bound', DefaultInterruptGraceMs);
  const still = targets.filter((t) => isSameProcess(t));
  const named = targets.map((t) => `PID ${t.pid} (${t.comm})`).join(', ');
  const left = still.length > 0 ? `, but ${still.map((t) => `PID ${t.pid}`).join(', ')} still runs` : '';
  return `stopped what this start had started: ${named}${left}`;
}

/** SIGTERM each process (its group when it leads the session's), SIGKILL what is left after the grace. */
async function stopAll(
  processes: ProcessInfo[],
  out: Progress,
  why: string,
  graceMs = DefaultAbandonGraceMs,
): Promise<void> {
  const targets = unique(processes);
  if (targets.length === 0) return;
  const leaders = new Set(targets.filter((t) => t.pid === t.sid).map((t) => t.pid));
  // A member of the session leader's group gets each signal once, through the group.
  const direct = targets.filter((t) => leaders.has(t.pid) || !leaders.has(t.pgid));
  for (const target of direct) {
    const group = leaders.has(target.pid) ? ' and its process group' : '';
    out.say(`Stopping ${describeProcess(target)}${group}: ${why}`, { pid: target.pid });
    signalProcess(target, 'SIGTERM', leaders.has(target.pid));
  }
  const allGone = () => (targets.every((t) => !isSameProcess(t)) ? true : undefined);
  const gone = await pollUntil(allGone, Date.now() + graceMs);
  // Identity is re-read per signal: a process that exited meanwhile is skipped, never a reused PID hit.
  if (!gone.done) for (const target of targets) signalProcess(target, 'SIGKILL', leaders.has(target.pid));
  await pollUntil(allGone, Date.now() + graceMs);
}

function isCleanExit(exit: ExitStatus): boolean {
  return exit.code === 0 && exit.signal === null && exit.error === undefined;
}

function unique(processes: ProcessInfo[]): ProcessInfo[] {
  return [...new Map(processes.map((p) => [p.pid, p])).values()];
}
