import { formatDuration } from '../core/config/duration.ts';
import type { HookContext } from '../runner/context.ts';
import { stopUnrecordedStart, waitForBind, type BoundApp } from '../core/process/bind.ts';
import { onInterrupt } from '../runner/interrupt-cleanup.ts';
import { describeExit, describeProcess, formatClock } from '../core/process/describe.ts';
import { HookError } from '../core/errors.ts';
import { resolvePort } from '../core/config/resolve-port.ts';
import { launchApp } from '../core/process/launch.ts';
import type { ProcessInfo } from '../core/procfs/types.ts';
import { DefaultKillWaitMs } from '../core/defaults.ts';
import { signalProcess } from '../core/process/signal.ts';
import { isSameProcess } from '../core/procfs/index.ts';
import {
  describeRun,
  findRecord,
  forgetPort,
  readState,
  recordStart,
  writeState,
  type AppState,
} from '../core/state/state.ts';
import { pollUntil } from '../core/wait.ts';
import { prepareRelease } from '../core/release/start-release.ts';
import { readServedRoles } from './ports.ts';
import { freeTargetPort } from './stop.ts';
import { chooseSupervisor, describeAutoFallback } from '../core/supervisor/choose.ts';
import { startUnit, waitForUnitBind } from '../core/supervisor/unit-start.ts';
import { stopUnitQuietly } from '../core/supervisor/unit-stop.ts';
import { DefaultAbandonGraceMs } from '../core/defaults.ts';

/**
 * ApplicationStart: free the target port (a skipped or broken ApplicationStop cannot cause "port in use"), start the
 * app under its supervisor (a systemd unit, or detached), record who it is, and wait until it listens.
 */
export async function startFlow(ctx: HookContext): Promise<string> {
  const { roles } = await readServedRoles(ctx.config, ctx.deadline.at);
  const target = roles.target;
  ctx.out.begin(`Freeing port ${target} before starting`, { port: target });
  const recorded = findRecord(readState(ctx.appDir), target);
  const freed = await freeTargetPort(ctx, roles);
  if (freed.stopped.length > 0) ctx.out.say(`Port ${target} free after ${formatDuration(freed.releasedAfterMs)}`);
  // A listener portproof had not started was someone's process: the verdict names it, not only the progress lines.
  const strangers = freed.stopped.filter(
    (s) => !s.unit && !(recorded && s.info.pid === recorded.pid && s.info.startTime === recorded.startTime),
  );
  const stranger = strangers.map((s) => describeProcess(s.info)).join(', ');
  const freedNote = stranger ? `; stopped ${stranger} on port ${target}, which portproof had not started` : '';
  // From here on the app's files are the release's: ctx.config names it as app.cwd.
  const release = prepareRelease(ctx.config, ctx.appDir, ctx.deployment?.deploymentId ?? null, ctx.out);
  const run = { ...ctx, config: release.config };
  const from = release.name ? { release: release.name } : {};
  if (chooseSupervisor(ctx.config) === 'systemd') return `${await startUnderSystemd(run, target, from)}${freedNote}`;
  const fallback = describeAutoFallback(ctx.config);
  const direct = `${await startDirectly(run, target, from)}; supervisor: direct${fallback ? `; ${fallback}` : ''}`;
  return `${direct}${freedNote}`;
}

/** Start the app's unit through systemd: the app lives in its own cgroup, never in the CodeDeploy agent's. */
async function startUnderSystemd(ctx: HookContext, target: number, from: { release?: string }): Promise<string> {
  const { unit } = resolvePort(ctx.config, target);
  ctx.out.begin(`Starting ${unit} (supervisor: systemd)`, { port: target, unit });
  // start.timeout covers systemd's start job and the bind alike: a unit that never finishes starting is named.
  const bindUntil = Math.min(Date.now() + ctx.config.start.timeout, ctx.deadline.at);
  // Interrupted before the app is bound (the start job and the bind wait included), the start stops the unit and drops
  // its record rather than leave it running unvalidated: systemd finishes the stop even if SIGKILL follows.
  const stop = async () => {
    const stopping = stopUnitQuietly(unit, Date.now() + DefaultAbandonGraceMs, ctx.out);
    forgetQuietly(ctx, target);
    if (await stopping) return `stopped ${unit}, which this start had started`;
    return `asked systemd to stop ${unit}, which this start had started (still stopping)`;
  };
  const forget = onInterrupt(stop);
  const app = await startUnit(ctx.config, target, ctx.appDir, bindUntil, ctx.out);
  const state = readState(ctx.appDir);
  const { info } = app;
  recordStart(state, target, {
    ...describeRun(info),
    deploymentId: ctx.deployment?.deploymentId ?? null,
    log: app.log?.file ?? '',
    unit,
    invocationId: app.invocationId,
    restarts: app.restarts,
    cgroup: info.cgroup,
    ...from,
  });
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // A unit that cannot be recorded is stopped again: ApplicationStop could not tell it from a stranger.
    await stop();
    throw error;
  }
  ctx.out.say(`${unit} started PID ${info.pid} as ${info.user}`, { pid: info.pid, unit });
  const bind = waitForUnitBind(app, target, bindUntil, ctx.out);
  // A unit that failed to bind was stopped by the wait: its record goes with it.
  const { bindMs, info: bound } = await bind.catch((error: unknown) => {
    forgetQuietly(ctx, target);
    throw error;
  });
  // Recorded again as it runs once bound: the command systemd's child had before its exec is not the app's.
  recordStart(state, target, { ...findRecord(state, target)!, command: bound.command, user: bound.user });
  writeState(ctx.appDir, state);
  forget();
  ctx.log.info({ port: target, pid: info.pid, unit, bindMs }, 'listening');
  const started = `PID ${bound.pid} (${bound.comm}, started ${formatClock(bound.startedAt)})`;
  return `${started} listening on port ${target} after ${formatDuration(bindMs)} as ${unit}`;
}

/** Drop the record of an abandoned start; a state that cannot be written keeps a record of a run that ended. */
function forgetQuietly(ctx: HookContext, port: number): void {
  try {
    const state = readState(ctx.appDir);
    if (forgetPort(state, port)) writeState(ctx.appDir, state);
  } catch {
    // A record whose run ended is never trusted again: ApplicationStop and ValidateService see it is gone.
  }
}

/** Start the app detached (its own session, output to its log): nothing restarts it after a crash or a reboot. */
async function startDirectly(ctx: HookContext, target: number, from: { release?: string }): Promise<string> {
  ctx.out.begin(`Starting ${resolvePort(ctx.config, target).argv.join(' ')} (supervisor: direct)`, { port: target });
  const app = await launchApp(ctx.config, target);
  // Interrupted before the bound process is recorded, the start stops what it started rather than leave it running
  // unrecorded (state.json would name only the launcher); once recorded, ApplicationStop owns it.
  const forget = onInterrupt(() => stopUnrecordedStart(app, ctx.out));
  const state = readState(ctx.appDir);
  recordStart(state, target, {
    ...describeRun(app.info),
    user: app.user,
    deploymentId: ctx.deployment?.deploymentId ?? null,
    log: app.logFile,
    ...from,
  });
  await recordOrStop(ctx, state, app.info);
  ctx.out.say(`Started PID ${app.info.pid} as ${app.user}; output goes to ${app.logFile}`, { pid: app.info.pid });
  const bindUntil = Math.min(Date.now() + ctx.config.start.timeout, ctx.deadline.at);
  const bound = await waitForBind(app, target, bindUntil, ctx.out);
  app.detach();
  // Record the process that bound, as it runs now: what ApplicationStop signals and ValidateService proves.
  const { info } = bound;
  recordStart(state, target, { ...findRecord(state, target)!, ...describeRun(info) });
  await recordOrStop(ctx, state, info);
  forget();
  const launcherPid = bound.launcher?.info.pid;
  ctx.log.info({ port: target, pid: info.pid, launcherPid, bindMs: bound.bindMs }, 'listening');
  const started = `PID ${info.pid} (${info.comm}, started ${formatClock(info.startedAt)})`;
  return `${started} listening on port ${target} after ${formatDuration(bound.bindMs)}${describeLauncher(bound)}`;
}

/** "; started by PID 4711 (sh), which exited with code 0": the start command, when it is not the process that bound. */
function describeLauncher(bound: BoundApp): string {
  if (bound.launcher === null) return '';
  const { info, exit } = bound.launcher;
  return `; started by PID ${info.pid} (${info.comm}), which ${exit ? describeExit(exit) : 'is still running'}`;
}

/** Record the new process; one that cannot be recorded is stopped again rather than left running unrecorded. */
async function recordOrStop(ctx: HookContext, state: AppState, app: ProcessInfo): Promise<void> {
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // Only a state write failure is expected here; anything else is reported as it is.
    if (!(error instanceof HookError)) throw error;
    const signalled = signalProcess(app, 'SIGKILL', true);
    // The verdict says it is gone only once it is: SIGKILL takes effect when the kernel next schedules it.
    const gone = await pollUntil(() => (isSameProcess(app) ? undefined : true), Date.now() + DefaultKillWaitMs);
    const killed = gone.done ? 'stopped again with SIGKILL' : 'sent SIGKILL but is still running';
    const stopped = signalled ? killed : 'already gone';
    const note = `the new PID ${app.pid} could not be recorded and was ${stopped}`;
    const context = { ...error.context, pid: app.pid };
    throw new HookError(error.code, `${error.message}; ${note}`, context, { cause: error });
  }
}
