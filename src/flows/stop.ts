import { formatDuration } from '../core/config/duration.ts';
import type { HookContext } from '../runner/context.ts';
import { describeProcess } from '../core/process/describe.ts';
import { freePort, type FreePortReport } from '../core/process/free-port.ts';
import { findRecord, forgetPort, readState, writeState, type AppState } from '../core/state/state.ts';
import { HookError } from '../core/errors.ts';
import { assertNotServed, readPortRoles, type PortRoles } from './ports.ts';

/** ApplicationStop: free the target port. Nothing listening is success; so is running it twice. */
export async function stopFlow(ctx: HookContext): Promise<string> {
  const roles = readPortRoles(ctx.config);
  ctx.out.begin(`Freeing port ${roles.target}`, { port: roles.target });
  const report = await freeTargetPort(ctx, roles);
  return describeFreed(report);
}

/** Free the target port with the configured signal and grace, and forget the process portproof had recorded there. */
export async function freeTargetPort(ctx: HookContext, roles: PortRoles): Promise<FreePortReport> {
  const port = roles.target;
  const state = readState(ctx.appDir);
  // Last look before any signal: the port nginx serves (per the include and the last recorded switch) is never freed.
  assertNotServed(ctx.config, roles, state, ctx.appDir, port);
  if (state.problem) ctx.out.say(`Note: ${state.problem}; only processes found listening will be stopped`);
  const report = await freePort(port, {
    signal: ctx.config.stop.signal,
    graceMs: ctx.config.stop.grace,
    recorded: findRecord(state, port),
    appUser: ctx.config.app.user,
    untilMs: ctx.deadline.at,
    out: ctx.out,
  });
  if (forgetPort(state, port)) forgetStopped(ctx, state, report);
  ctx.log.info(
    {
      port,
      stopped: report.stopped.map((s) => ({ pid: s.info.pid, signal: s.signal, exitedAfterMs: s.exitedAfterMs })),
      releasedAfterMs: report.releasedAfterMs,
      releaseLagMs: report.releaseLagMs,
    },
    'port free',
  );
  return report;
}

/** "port 8082 free: stopped PID 4711 (…) with SIGTERM in 8.0 s" */
export function describeFreed(report: FreePortReport): string {
  const untrusted = report.notTrustedListens ? 'not trusted as the record (stopped as a listener)' : 'not signalled';
  const notTrusted = report.notTrusted ? `; ${untrusted} ${report.notTrusted}` : '';
  if (report.stopped.length === 0) return `port ${report.port} free (nothing was listening)${notTrusted}`;
  const who = report.stopped.map(
    (s) => `${describeProcess(s.info)} with ${s.signal}${s.signal === 'SIGKILL' ? ' after the grace period' : ''}`,
  );
  const after = formatDuration(report.releasedAfterMs);
  return `port ${report.port} free after ${after}: stopped ${who.join('; ')}${notTrusted}`;
}

/** Drop the stopped process's record; if the state cannot be written, the verdict still says the port was freed. */
function forgetStopped(ctx: HookContext, state: AppState, report: FreePortReport): void {
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // The stale record is harmless (a record is trusted only if its identity still matches), but the disk is not.
    if (!(error instanceof HookError)) throw error;
    throw new HookError(error.code, `${error.message} (${describeFreed(report)})`, error.context, { cause: error });
  }
}
