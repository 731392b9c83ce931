import fs from 'node:fs';
import { formatDuration } from '../config/duration.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { DefaultAbandonGraceMs, DefaultUnitPollMs } from '../defaults.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { openAppLog } from '../process/app-log.ts';
import { describeProcess } from '../process/describe.ts';
import { pickReason, readLogTail } from '../process/log-tail.ts';
import { lookupAccount } from '../process/user.ts';
import {
  checkTreeOwnsPort,
  findListeners,
  isSameProcess,
  listTreeListenSockets,
  readListenSockets,
  readProcessInfo,
} from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { cutLine } from '../text/clean-line.ts';
import { pollUntil } from '../wait.ts';
import { readInvocationLines, readRunExit } from './journal.ts';
import { runSystemctl, showUnit, type UnitStatus } from './systemctl.ts';
import { installUnit } from './unit-file.ts';
import { stopUnitQuietly } from './unit-stop.ts';

/** An app systemd started: its unit, this run of it, and its main process (whose cgroup is the new tree). */
export interface UnitApp {
  unit: string;
  invocationId: string;
  /** NRestarts when the start began: a restart since shows as a higher count. */
  restarts: number;
  /** The unit's main process, with the unit's cgroup as its tree. */
  info: ProcessInfo;
  /** app.log for a unit portproof wrote, and where this start's output begins in it; null for the user's own unit. */
  log: { file: string; offset: number } | null;
  startedAt: number;
}

/**
 * Start the app's unit for `port` (written first when portproof owns it) and read who systemd started. A unit that
 * fails to start is stopped again and named with its exit and its last output.
 */
export async function startUnit(config: LoadedConfig, port: number, appDir: string, out: Progress): Promise<UnitApp> {
  const { unit, logFile } = resolvePort(config, port);
  let log: UnitApp['log'] = null;
  if (config.app.unit === undefined) {
    const installed = installUnit(config, port, appDir);
    if (installed.changed) out.say(`Wrote ${installed.file}`, { unit });
    // Created here, safely and as the app user's, so that systemd appends to a regular file and nothing else.
    const account = config.app.user ? lookupAccount(config.app.user) : null;
    const opened = openAppLog(logFile, account);
    fs.closeSync(opened.fd);
    log = { file: logFile, offset: opened.offset };
  }
  const startedAt = Date.now();
  // A failed earlier run would otherwise keep its result and restart count in what this start reads.
  tryQuietly(['reset-failed', '--', unit]);
  try {
    runSystemctl(['start', '--', unit]);
  } catch (error) {
    // Type=exec: a program that cannot be executed fails the start job itself.
    const status = showUnit(unit);
    const partial = { unit, invocationId: status.invocationId, restarts: 0, log, startedAt };
    await stopUnitQuietly(unit, Date.now() + DefaultAbandonGraceMs, out);
    throw exitedError(partial, port, status, (error as Error).message);
  }
  const status = showUnit(unit);
  const info = status.mainPid > 0 ? readProcessInfo(status.mainPid) : null;
  const app = { unit, invocationId: status.invocationId, restarts: status.restarts, log, startedAt };
  if (info === null || status.controlGroup === '') {
    await stopUnitQuietly(unit, Date.now() + DefaultAbandonGraceMs, out);
    throw exitedError(app, port, showUnit(unit), null);
  }
  return { ...app, info: { ...info, cgroup: status.controlGroup } };
}

/**
 * Wait until a process of the unit's cgroup listens on `port`. A main process that exits, or a restart by systemd,
 * fails the start with the first exit's reason; `untilMs` passing fails it naming what the unit listens on instead.
 * Either way the unit is stopped, so that it does not go on restarting.
 */
export async function waitForUnitBind(app: UnitApp, port: number, untilMs: number, out: Progress): Promise<number> {
  const startedAt = Date.now();
  let askedAt = 0;
  out.begin(`Waiting for ${app.unit} (PID ${app.info.pid}) to listen on port ${port}`);
  const result = await pollUntil<'bound' | UnitStatus>(
    () => {
      // /proc every poll; systemd now and then, and at once when the main process is gone.
      if (!isSameProcess(app.info) || Date.now() - askedAt >= DefaultUnitPollMs) {
        askedAt = Date.now();
        const status = showUnit(app.unit);
        if (hasLeftRun(app, status)) return status;
      }
      if (readListenSockets(port).length === 0) return undefined;
      return checkTreeOwnsPort(app.info, port).owned ? 'bound' : undefined;
    },
    untilMs,
    { onTick: () => out.progress(startedAt, untilMs) },
  );
  if (result.done && result.value === 'bound') return Date.now() - app.startedAt;
  const cleanupUntil = Date.now() + DefaultAbandonGraceMs + 10_000;
  if (result.done) {
    const status = result.value as UnitStatus;
    await stopUnitQuietly(app.unit, cleanupUntil, out);
    throw exitedError(app, port, status, null);
  }
  const elsewhere = listTreeListenSockets(app.info).map((s) => `${s.localAddress}:${s.localPort}`);
  const listens = elsewhere.length > 0 ? `it listens on ${elsewhere.join(', ')} instead` : 'it listens on no TCP port';
  const holders = findListeners(port).listeners.flatMap((l) => l.owners);
  const held = holders.length > 0 ? `; port ${port} is held by ${holders.map(describeProcess).join(', ')}` : '';
  await stopUnitQuietly(app.unit, cleanupUntil, out);
  const what = `${app.unit}, PID ${app.info.pid} (${app.info.comm}), is running but did not listen on port ${port}`;
  throw new HookError('START_TIMEOUT', `${what} within ${formatDuration(result.waitedMs)}: ${listens}${held}`, {
    port,
    pid: app.info.pid,
    unit: app.unit,
    durationMs: result.waitedMs,
    evidence: describeOutput(app),
  });
}

/** True when the run portproof started is over: its main process changed, systemd restarted it, or it stopped. */
export function hasLeftRun(app: Pick<UnitApp, 'invocationId' | 'info'>, status: UnitStatus): boolean {
  return status.invocationId !== app.invocationId || status.mainPid !== app.info.pid || status.activeState !== 'active';
}

/** How the run ended, in words: the exit systemd logged for this run, else the unit's status now. */
export function describeUnitExit(app: Pick<UnitApp, 'unit' | 'invocationId'>, status: UnitStatus): string {
  const logged = readRunExit(app.unit, app.invocationId);
  const now = status.lastExit;
  const exit = logged ?? (now ? (now.signal ? `was killed by ${now.signal}` : `exited with code ${now.code}`) : null);
  const restarted = status.restarts > 0 ? `, and systemd restarted it ${status.restarts} time(s)` : '';
  return `${exit ?? `stopped (${status.activeState}/${status.subState}, result ${status.result})`}${restarted}`;
}

/** The app's last output for this start: its log file for a unit portproof wrote, the journal for the user's own. */
export function describeOutput(app: Pick<UnitApp, 'log' | 'invocationId'>): string[] {
  const lines = app.log ? readLogTail(app.log.file, app.log.offset) : readInvocationLines(app.invocationId);
  const where = app.log ? app.log.file : 'the journal';
  return lines.length > 0 ? [`last lines of ${where}:`, ...lines.map((l) => `  ${l}`)] : [];
}

function exitedError(
  app: Omit<UnitApp, 'info'>,
  port: number,
  status: UnitStatus,
  systemctlSaid: string | null,
): HookError {
  const evidence = describeOutput(app);
  const lines = evidence.slice(1).map((l) => l.trim());
  const reason = pickReason(lines);
  const quote = reason !== undefined ? `: "${cutLine(reason, 160)}"` : '';
  const how = describeUnitExit(app, status);
  const said = systemctlSaid && reason === undefined ? ` (${systemctlSaid})` : '';
  return new HookError('START_EXITED', `${app.unit} ${how} before listening on port ${port}${quote}${said}`, {
    port,
    unit: app.unit,
    exitCode: status.lastExit?.code ?? null,
    signal: status.lastExit?.signal ?? null,
    evidence,
  });
}

function tryQuietly(args: string[]): void {
  try {
    runSystemctl(args);
  } catch {
    // reset-failed refuses a unit that is not failed or not loaded yet: nothing to reset then.
  }
}
