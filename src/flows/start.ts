import { formatDuration } from '../core/config/duration.ts';
import type { HookContext } from '../core/hook/context.ts';
import { waitForBind } from '../core/process/bind.ts';
import { formatClock } from '../core/process/describe.ts';
import { HookError } from '../core/errors.ts';
import { launchApp, type LaunchedApp } from '../core/process/launch.ts';
import { DefaultKillWaitMs } from '../core/process/stop.ts';
import { isRunning, signalProcess } from '../core/process/signal.ts';
import { readState, writeState, type AppState } from '../core/state/state.ts';
import { pollUntil } from '../core/wait.ts';
import { readPortRoles } from './ports.ts';
import { freeTargetPort } from './stop.ts';

/**
 * ApplicationStart: free the target port (a skipped or broken ApplicationStop cannot cause "port in use"), start the
 * app detached, record who it is, and wait until it listens.
 */
export async function startFlow(ctx: HookContext): Promise<string> {
  const { target } = readPortRoles(ctx.config);
  ctx.out.begin(`Freeing port ${target} before starting`, { port: target });
  const freed = await freeTargetPort(ctx, target);
  if (freed.stopped.length > 0) ctx.out.say(`Port ${target} free after ${formatDuration(freed.releasedAfterMs)}`);
  ctx.out.begin(`Starting ${ctx.config.app.command.join(' ').replaceAll('{port}', String(target))}`, { port: target });
  const app = await launchApp(ctx.config, target);
  const state = readState(ctx.appDir);
  state.processes[String(target)] = {
    pid: app.info.pid,
    startTime: app.info.startTime,
    bootId: app.bootId,
    command: app.info.command,
    user: app.info.user,
    startedAt: app.info.startedAt.toISOString(),
    deploymentId: ctx.deployment?.deploymentId ?? null,
    log: app.logFile,
  };
  state.lastStarted = target;
  await recordOrStop(ctx, state, app);
  ctx.out.say(`Started PID ${app.info.pid} as ${app.info.user}; output goes to ${app.logFile}`, { pid: app.info.pid });
  const bindMs = await waitForBind(app, target, Math.min(Date.now() + ctx.config.start.timeout, ctx.deadline.at), ctx.out);
  app.detach();
  ctx.log.info({ port: target, pid: app.info.pid, bindMs }, 'listening');
  return `PID ${app.info.pid} (${app.info.comm}, started ${formatClock(app.info.startedAt)}) listening on port ${target} after ${formatDuration(bindMs)}`;
}

/** Record the new process; one that cannot be recorded is stopped again rather than left running unrecorded. */
async function recordOrStop(ctx: HookContext, state: AppState, app: LaunchedApp): Promise<void> {
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // Only a state write failure is expected here; anything else is reported as it is.
    if (!(error instanceof HookError)) throw error;
    const signalled = signalProcess(app.info, 'SIGKILL', true);
    // The verdict says it is gone only once it is: SIGKILL takes effect when the kernel next schedules it.
    const gone = await pollUntil(() => (isRunning(app.info) ? undefined : true), Date.now() + DefaultKillWaitMs);
    const killed = gone.done ? 'stopped again with SIGKILL' : 'sent SIGKILL but is still running';
    const stopped = signalled ? killed : 'already gone';
    const note = `the new PID ${app.info.pid} could not be recorded and was ${stopped}`;
    const context = { ...error.context, pid: app.info.pid };
    throw new HookError(error.code, `${error.message}; ${note}`, context, { cause: error });
  }
}
