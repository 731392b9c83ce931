import { formatDuration } from '../core/config/duration.ts';
import type { HookContext } from '../runner/context.ts';
import { describeProcess } from '../core/process/describe.ts';
import { freePort } from '../core/process/free-port.ts';
import { findRecord, forgetPort, readState, writeState, type AppState } from '../core/state/state.ts';
import { HookError } from '../core/errors.ts';
import type { LoadedConfig } from '../core/config/load.ts';
import { findListeners } from '../core/procfs/listeners.ts';
import { warningVerdict } from '../runner/verdict.ts';
import { assertNotServed, readServedRoles, type PortRoles } from './ports.ts';
import { hostSupervisor } from '../core/supervisor/index.ts';
import { drainBeforeStop, describeDrainClause, type StopReport } from './drain.ts';
import { describeBootRivals } from './boot-rivals.ts';

/** ApplicationStop: free the target port. Nothing listening is success; so is running it twice. */
export async function stopFlow(ctx: HookContext): Promise<string> {
  // An include nginx does not read ends this hook as a config it cannot use does (describeUnusableConfig).
  const { roles } = await readServedRoles(ctx.config, ctx.deadline.at);
  ctx.out.begin(`Freeing port ${roles.target}`, { port: roles.target });
  const report = await freeTargetPort(ctx, roles);
  return `${describeFreed(report)}${describeBootRivals(ctx.config)}`;
}

/** Free the target port with the configured signal and grace, and forget the process portproof had recorded there. */
export async function freeTargetPort(ctx: HookContext, roles: PortRoles): Promise<StopReport> {
  const port = roles.target;
  const state = readState(ctx.appDir);
  // Last look before any signal: the port nginx serves (per the include and the last recorded switch) is never freed.
  assertNotServed(ctx.config, roles, state, ctx.appDir, port);
  if (state.problem) ctx.out.say(`Note: ${state.problem}; only processes found listening will be stopped`);
  // What the host's supervisor holds on the port (a unit) is refused or stopped through it first: systemd would restart
  // a process signalled behind its back.
  const host = hostSupervisor();
  const record = findRecord(state, port);
  host.guardPort(ctx.config, port, record);
  // Before any signal, in both supervisors: wait while the version still serves requests (DESIGN "Draining a version").
  const drain = await drainBeforeStop(ctx, port);
  const units = await host.stopPort(ctx.config, port, record, ctx.deadline.at, ctx.out);
  const freed = await freePort(port, {
    signal: ctx.config.stop.signal,
    graceMs: ctx.config.stop.grace,
    recorded: record,
    appUser: ctx.config.app.user,
    untilMs: ctx.deadline.at,
    out: ctx.out,
  });
  // What the units' stop took comes first: the leftovers were signalled after it.
  const unitMs = units.reduce((sum, u) => sum + u.exitedAfterMs, 0);
  const stopped = [...units, ...freed.stopped];
  const report = { ...freed, stopped, releasedAfterMs: unitMs + freed.releasedAfterMs, drain: drain ?? undefined };
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

/**
 * ApplicationStop with a config it cannot read, parse or validate: CodeDeploy runs it from the last installed
 * revision, so failing would block every deployment after a broken one. It stops nothing, says what still listens on
 * the ports the config names (when it could read them), and ends 0: ApplicationStart frees its own port first.
 */
export function describeUnusableConfig(error: HookError, config: LoadedConfig | null): string[] {
  const ports = config?.ports.map((port) => {
    const owners = findListeners(port).listeners.flatMap((l) => l.owners);
    return owners.length > 0 ? `port ${port} held by ${owners.map(describeProcess).join(', ')}` : `port ${port} free`;
  });
  const left = ports ? ports.join('; ') : 'the ports it names are unknown';
  const message = `${error.message}; stopped nothing (${left}); ApplicationStart frees its port itself`;
  return warningVerdict('ApplicationStop', message, error.context.evidence ?? []);
}

/** "port 8082 free: stopped PID 4711 (…) with SIGTERM in 8.0 s" */
export function describeFreed(report: StopReport): string {
  const untrusted = report.notTrustedListens ? 'not trusted as the record (stopped as a listener)' : 'not signalled';
  const notTrusted = report.notTrusted ? `; ${untrusted} ${report.notTrusted}` : '';
  if (report.stopped.length === 0) return `port ${report.port} free (nothing was listening)${notTrusted}`;
  const who = report.stopped.map((s) => {
    const how = s.unit
      ? `by stopping ${s.unit}`
      : `with ${s.signal}${s.signal === 'SIGKILL' ? ' after the grace period' : ''}`;
    return `${describeProcess(s.info)} ${how}`;
  });
  const after = formatDuration(report.releasedAfterMs);
  const drained = describeDrainClause(report);
  return `port ${report.port} free after ${after}: stopped ${who.join('; ')}${notTrusted}${drained}`;
}

/** Drop the stopped process's record; if the state cannot be written, the verdict still says the port was freed. */
function forgetStopped(ctx: HookContext, state: AppState, report: StopReport): void {
  try {
    writeState(ctx.appDir, state);
  } catch (error) {
    // The stale record is harmless (a record is trusted only if its identity still matches), but the disk is not.
    if (!(error instanceof HookError)) throw error;
    throw new HookError(error.code, `${error.message} (${describeFreed(report)})`, error.context, { cause: error });
  }
}
