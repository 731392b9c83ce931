import { formatDuration } from '../core/config/duration.ts';
import type { HookContext } from '../runner/context.ts';
import { onInterrupt } from '../runner/interrupt-cleanup.ts';
import { describeProcess, formatClock } from '../core/process/describe.ts';
import { HookError } from '../core/errors.ts';
import {
  describeRun,
  findRecord,
  forgetPort,
  readState,
  recordStart,
  writeState,
  type AppState,
} from '../core/state/state.ts';
import { prepareRelease } from '../core/release/start-release.ts';
import { readServedRoles } from './ports.ts';
import { freeTargetPort } from './stop.ts';
import { describeBootRivals } from './boot-rivals.ts';
import { supervisorFor } from '../core/supervisor/index.ts';

/**
 * ApplicationStart: free the target port (a skipped or broken ApplicationStop cannot cause "port in use"), start the
 * app under its supervisor (a systemd unit, or detached), record who it is, and wait until it listens.
 */
export async function startFlow(ctx: HookContext): Promise<string> {
  const { roles } = await readServedRoles(ctx.config, ctx.deadline.at);
  const target = roles.target;
  // The release is made before anything is stopped: a revision that cannot be copied leaves the old app running.
  // From here on the app's files are the release's: release.config names it as app.cwd.
  const release = prepareRelease(ctx.config, ctx.appDir, ctx.deployment?.deploymentId ?? null, ctx.out);
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
  const run = { ...ctx, config: release.config };
  const from = release.name ? { release: release.name } : {};
  return `${await startApp(run, target, from)}${freedNote}${describeBootRivals(ctx.config)}`;
}

/**
 * Start the app under its supervisor, record the run, wait until it listens, record the process that bound. At any
 * step an interrupt (SIGTERM, Ctrl-C; SIGKILL may follow) or a record that cannot be written stops what this start
 * started and drops its record: nothing runs unvalidated and unrecorded, and ApplicationStop owns what is recorded.
 */
async function startApp(ctx: HookContext, target: number, from: { release?: string }): Promise<string> {
  const start = supervisorFor(ctx.config).prepareStart(ctx.config, target, ctx.appDir, ctx.out);
  const bindUntil = Math.min(Date.now() + ctx.config.start.timeout, ctx.deadline.at);
  const abandon = async () => {
    const stopping = start.abandon();
    forgetQuietly(ctx, target);
    return stopping;
  };
  const unguard = onInterrupt(abandon);
  const launched = await start.launch(bindUntil);
  const state = readState(ctx.appDir);
  const deploymentId = ctx.deployment?.deploymentId ?? null;
  recordStart(state, target, { ...launched.record, deploymentId, ...from });
  await recordOrAbandon(ctx, state, launched.info.pid, abandon);
  const { info, record } = launched;
  ctx.out.say(launched.said, { pid: info.pid, unit: record.unit });
  // start.timeout is the app's own time to bind, counted from here: launching and recording it on a loaded machine
  // do not eat into it, and a verdict's "did not listen within" names the timeout, not what was left of it.
  const bindBy = Math.min(Date.now() + ctx.config.start.timeout, ctx.deadline.at);
  const bound = await start.waitForBind(bindBy).catch((error: unknown) => {
    // The run that failed to bind was stopped by the wait: its record goes with it.
    forgetQuietly(ctx, target);
    throw error;
  });
  // Recorded again as it runs once bound: what ApplicationStop signals and ValidateService proves, named as it runs
  // (`java`), not as its launcher or systemd's child was before its exec.
  recordStart(state, target, { ...findRecord(state, target)!, ...describeRun(bound.info) });
  await recordOrAbandon(ctx, state, bound.info.pid, abandon);
  unguard();
  const fields = { port: target, pid: bound.info.pid, unit: record.unit, bindMs: bound.bindMs };
  ctx.log.info(fields, 'listening');
  const started = `PID ${bound.info.pid} (${bound.info.comm}, started ${formatClock(bound.info.startedAt)})`;
  return `${started} listening on port ${target} after ${formatDuration(bound.bindMs)}${bound.clause}`;
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

/** Record the new run; one that cannot be recorded is stopped again rather than left running unrecorded. */
async function recordOrAbandon(
  ctx: HookContext,
  state: AppState,
  pid: number,
  abandon: () => Promise<string>,
): Promise<void> {
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // Only a state write failure is expected here; anything else is reported as it is.
    if (!(error instanceof HookError)) throw error;
    const stopped = await abandon();
    const context = { ...error.context, pid };
    const message = `${error.message}; the new PID ${pid} could not be recorded: ${stopped}`;
    throw new HookError(error.code, message, context, { cause: error });
  }
}
