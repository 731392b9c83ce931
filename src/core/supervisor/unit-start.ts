import fs from 'node:fs';
import { formatDuration } from '../config/duration.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { DefaultAbandonGraceMs, DefaultUnitPollMs } from '../defaults.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { openAppLog } from '../process/app-log.ts';
import { describeProcess } from '../process/describe.ts';
import { quoteReason } from '../process/log-tail.ts';
import { findAppAccount } from '../process/user.ts';
import {
  checkTreeOwnsPort,
  findListeners,
  isSameProcess,
  listTreeListenSockets,
  readListenSockets,
  readProcessInfo,
  rereadProcess,
} from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { pollUntil } from '../wait.ts';
import { runSystemctl, showUnit, type UnitStatus } from './systemctl.ts';
import { installUnit } from './unit-file.ts';
import { describeOutput, describeUnitExit, hasLeftRun, type UnitApp } from './unit-run.ts';
import { canAppendLog, readSystemdVersion } from './systemd-version.ts';
import { stopUnitQuietly } from './unit-stop.ts';

/**
 * Start the app's unit for `port` (written first when portproof owns it) and read who systemd started, by `untilMs`.
 * A unit that fails to start, restarts, never gets a main PID or is still starting at `untilMs` is stopped again and
 * named with its exit and its last output.
 */
export async function startUnit(
  config: LoadedConfig,
  port: number,
  appDir: string,
  untilMs: number,
  out: Progress,
): Promise<UnitApp> {
  const { unit, logFile } = resolvePort(config, port);
  let log: UnitApp['log'] = null;
  if (config.app.unit === undefined) {
    const installed = installUnit(config, port, appDir);
    if (installed.changed) out.say(`Wrote ${installed.file}`, { unit });
  }
  // Before systemd 240 the unit's output goes to the journal (no append:), read from there as for the user's unit.
  if (config.app.unit === undefined && canAppendLog(readSystemdVersion())) {
    // Created here, safely and as the app user's, so that systemd appends to a regular file and nothing else.
    const opened = openAppLog(logFile, findAppAccount(config.app.user));
    fs.closeSync(opened.fd);
    log = { file: logFile, offset: opened.offset, user: config.app.user };
  }
  // A failed earlier run would otherwise keep its result in what this start reads.
  tryQuietly(['reset-failed', '--', unit]);
  // Read before the start: a run that crashed and was restarted at once still shows as a higher count.
  const before = showUnit(unit);
  const startedAt = Date.now();
  const base = { unit, invocationId: '', restarts: before.restarts, log, startedAt };
  const fail = async (status: UnitStatus, said: string | null, how?: string) => {
    const error = exitedError({ ...base, invocationId: status.invocationId }, port, status, said, how);
    await stopUnitQuietly(unit, Date.now() + DefaultAbandonGraceMs + 10_000, out);
    return error;
  };
  try {
    // --no-block: the hook keeps its own deadline (start.timeout, the appspec's) instead of systemctl's job wait.
    runSystemctl(['start', '--no-block', '--', unit]);
  } catch (error) {
    // The start may have been queued before the call failed: the unit is stopped whether or not systemd can say more.
    let status = before;
    try {
      status = showUnit(unit);
    } catch {
      // systemd still unreachable after the retries: the status before the start is all there is to quote.
    }
    throw await fail(status, (error as Error).message);
  }
  // Ends with the unit's status, and its main process once /proc shows it (systemd's child may be mid-exec a moment
  // before): null for a run that ended, restarted, or is active without a main process.
  const result = await pollUntil<{ status: UnitStatus; info: ProcessInfo | null }>(() => {
    const status = showUnit(unit);
    const started = status.invocationId !== '' && status.invocationId !== before.invocationId;
    if (status.restarts > before.restarts || status.activeState === 'failed') return { status, info: null };
    // The job has not run yet: the unit still shows its previous run (or none).
    if (!started) return undefined;
    if (status.activeState === 'inactive' || status.subState === 'auto-restart') return { status, info: null };
    if (status.mainPid > 0) {
      const info = readProcessInfo(status.mainPid);
      return info ? { status, info } : undefined;
    }
    return status.activeState === 'active' ? { status, info: null } : undefined;
  }, untilMs);
  if (!result.done) {
    const status = showUnit(unit);
    const state = `${status.activeState}/${status.subState}`;
    throw await fail(status, null, `was still starting (${state}) after ${formatDuration(result.waitedMs)}`);
  }
  const { status, info } = result.value;
  if (info === null) {
    const noMain = status.activeState === 'active' && status.mainPid === 0;
    const how = noMain ? 'is active, but systemd knows no main process (Type=forking without PIDFile=?)' : undefined;
    throw await fail(status, null, how);
  }
  return { ...base, invocationId: status.invocationId, info: { ...info, cgroup: status.controlGroup } };
}

/**
 * Wait until a process of the unit's cgroup listens on `port`. A main process that exits, or a restart by systemd,
 * fails the start with the first exit's reason; `untilMs` passing fails it naming what the unit listens on instead.
 * Either way the unit is stopped, so that it does not go on restarting.
 */
export async function waitForUnitBind(
  app: UnitApp,
  port: number,
  untilMs: number,
  out: Progress,
): Promise<{ bindMs: number; info: ProcessInfo }> {
  const startedAt = Date.now();
  let askedAt = 0;
  let owned = false;
  out.begin(`Waiting for ${app.unit} (PID ${app.info.pid}) to listen on port ${port}`);
  const result = await pollUntil<'bound' | UnitStatus>(
    () => {
      // /proc every poll; systemd now and then, and at once when the main process is gone or the port is owned.
      if (!isSameProcess(app.info) || owned || Date.now() - askedAt >= DefaultUnitPollMs) {
        askedAt = Date.now();
        const status = showUnit(app.unit);
        if (hasLeftRun(app, status)) return status;
        // Listening is not started: a Type=notify unit still starting is killed by systemd if it never says READY.
        if (owned && status.activeState === 'active') return 'bound';
      }
      if (owned || readListenSockets(port).length === 0) return undefined;
      owned = checkTreeOwnsPort(app.info, port).owned;
      return undefined;
    },
    untilMs,
    { onTick: () => out.progress(startedAt, untilMs) },
  );
  if (result.done && result.value === 'bound') {
    // Re-read once bound: named as it runs (`java`), not as systemd's child was named before its exec.
    return {
      bindMs: Date.now() - app.startedAt,
      info: { ...(rereadProcess(app.info) ?? app.info), cgroup: app.info.cgroup },
    };
  }
  const cleanupUntil = Date.now() + DefaultAbandonGraceMs + 10_000;
  if (result.done) {
    const status = result.value as UnitStatus;
    await stopUnitQuietly(app.unit, cleanupUntil, out);
    throw exitedError(app, port, status, null);
  }
  const evidence = describeOutput(app);
  const context = { port, pid: app.info.pid, unit: app.unit, durationMs: result.waitedMs, evidence };
  const within = formatDuration(result.waitedMs);
  if (owned) {
    const { activeState, subState } = showUnit(app.unit);
    await stopUnitQuietly(app.unit, cleanupUntil, out);
    const why = 'it listens, but systemd has not seen it ready (Type=notify without READY=1?)';
    throw new HookError(
      'START_TIMEOUT',
      `${app.unit} was still starting (${activeState}/${subState}) after ${within}: ${why}`,
      context,
    );
  }
  const elsewhere = listTreeListenSockets(app.info).map((s) => `${s.localAddress}:${s.localPort}`);
  const listens = elsewhere.length > 0 ? `it listens on ${elsewhere.join(', ')} instead` : 'it listens on no TCP port';
  const holders = findListeners(port).listeners.flatMap((l) => l.owners);
  const held = holders.length > 0 ? `; port ${port} is held by ${holders.map(describeProcess).join(', ')}` : '';
  await stopUnitQuietly(app.unit, cleanupUntil, out);
  const what = `${app.unit}, PID ${app.info.pid} (${app.info.comm}), is running but did not listen on port ${port}`;
  throw new HookError('START_TIMEOUT', `${what} within ${within}: ${listens}${held}`, context);
}

function exitedError(
  app: Omit<UnitApp, 'info'>,
  port: number,
  status: UnitStatus,
  systemctlSaid: string | null,
  already?: string,
): HookError {
  const evidence = describeOutput(app);
  const quote = quoteReason(evidence.slice(1));
  const how = already ?? describeUnitExit(app, status);
  const said = systemctlSaid && quote === '' ? ` (${systemctlSaid})` : '';
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
