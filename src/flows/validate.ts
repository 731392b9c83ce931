import { formatDuration } from '../core/config/duration.ts';
import { resolvePort } from '../core/config/resolve-port.ts';
import { HookError } from '../core/errors.ts';
import type { HookContext } from '../runner/context.ts';
import { settleOwner } from '../core/health/settle.ts';
import { waitForHealthy } from '../core/health/wait-healthy.ts';
import { switchNginx } from '../core/nginx/switch.ts';
import type { NginxFiles } from '../core/nginx/loaded-files.ts';
import { stillOwnsPort } from '../core/procfs/index.ts';
import { proveTreeOwnsPort } from '../core/ownership/prove-owner.ts';
import { formatClock } from '../core/process/describe.ts';
import { describeFsError } from '../core/fs-error.ts';
import { pruneReleases } from '../core/release/prune-releases.ts';
import { assertReleaseKept } from '../core/release/release-gone.ts';
import {
  clearSwitching,
  findRecord,
  forgetPort,
  markSwitching,
  readState,
  recordSwitch,
  replaceRecord,
  writeState,
  type AppState,
} from '../core/state/state.ts';
import { findInterruptedSwitch } from './interrupted-switch.ts';
import { readServedRoles, type PortRoles } from './ports.ts';
import { describeBootRivals } from './boot-rivals.ts';
import type { ProcessInfo } from '../core/procfs/types.ts';
import type { StartRecord } from '../core/state/state.ts';
import { hostSupervisor, supervisorOf, type BootEnablement, type Supervisor } from '../core/supervisor/index.ts';
import { isInterrupted, onInterrupt } from '../runner/interrupt-cleanup.ts';
import { saveInclude, undoSwitch } from '../core/nginx/undo-switch.ts';

/**
 * ValidateService: the process ApplicationStart recorded is still the same process, its tree owns every listener on
 * the port, the health URL answers well over connections it owns, ownership still holds afterwards and, with health,
 * health.settle later; then, blue/green, nginx is switched to it. With --port N this is rollback. Re-running after
 * success changes nothing.
 */
export async function validateFlow(ctx: HookContext): Promise<string> {
  const state = readState(ctx.appDir);
  // nginx must load the include before anything is switched (--port included), and the include is read once: the
  // roles chosen here are the ones the switch starts from.
  const { roles, files } = await readServedRoles(ctx.config, ctx.deadline.at);
  const port = choosePort(ctx, state, roles);
  // A hook killed mid-switch left the host possibly split: said, and this switch settles it.
  const interrupted = findInterruptedSwitch(ctx.config, state);
  if (interrupted) ctx.out.say(`WARNING: ${interrupted.message}`);
  let record = findRecord(state, port);
  if (!record) {
    const why = state.problem ?? `no process recorded for port ${port} in ${ctx.appDir}/state.json`;
    throw new HookError('STATE_INVALID', `${why}; nothing on port ${port} is trusted (run ApplicationStart first)`, {
      port,
    });
  }
  assertReleaseKept(ctx.appDir, record, port);
  // A rollback (--port) proves the unit's current run: systemd restarting the kept version is not a reason to refuse.
  const adopted = ctx.options.port !== undefined ? supervisorOf(record).adopt(record) : null;
  if (adopted) {
    ctx.out.say(adopted.clause);
    record = adopted.record;
    replaceRecord(state, port, record);
  }
  let proved: { clause: string; tree: ProcessInfo };
  try {
    proved = await proveApp(ctx, record, port);
  } catch (error) {
    throw await stopRejected(ctx, state, roles, record, port, error);
  }
  if (adopted) writeState(ctx.appDir, state);
  const restarted = adopted ? `; ${adopted.clause}` : '';
  const host = hostSupervisor();
  // Enabled before the switch, the others disabled after: a reboot at any instant starts what nginx names.
  const enabled = host.enableForBoot(ctx.config, port, ctx.out);
  const switching = { recorded: false };
  // Interrupted mid-switch (SIGTERM, SIGKILL 5 s later): nginx, the state and the boot list are left agreeing.
  const unguard = onInterrupt(guardSwitch(ctx, roles, port, { host, enabled }, switching));
  let switched: string;
  try {
    switched = await switchTraffic(ctx, { state, roles, port, tree: proved.tree, files }, switching);
  } catch (error) {
    unguard();
    // nginx stayed on (or went back to) the old port: this port does not start at boot after all. An interrupt's
    // guard has done so already.
    if (!isInterrupted()) host.undoEnable(ctx.config, port, enabled, ctx.out);
    throw error;
  }
  const boot = host.disableOthers(ctx.config, port, ctx.out);
  unguard();
  const rivals = describeBootRivals(ctx.config, enabled.clause);
  const source = ctx.options.port !== undefined ? supervisorOf(record).describeRestartSource(record) : '';
  return `${proved.clause}${restarted}${switched}${enabled.clause}${source}${boot}${rivals}${pruneAfterSwitch(ctx)}`;
}

/** After a verified switch: the releases the recorded apps run from stay, with `keep` more; the rest are deleted. */
function pruneAfterSwitch(ctx: HookContext): string {
  const recorded = Object.values(readState(ctx.appDir).processes).flatMap((r) => (r.release ? [r.release] : []));
  let report: { kept: string[]; deleted: string[]; left: string[] };
  try {
    report = pruneReleases(ctx.appDir, new Set(recorded), ctx.config.keep);
  } catch (error) {
    // The switch is verified; a release that cannot be deleted costs disk, not service: said, not failed.
    return `; old releases not deleted: ${describeFsError(error)}`;
  }
  const { kept, deleted, left } = report;
  if (kept.length === 0 && deleted.length === 0) return '';
  if (deleted.length > 0) ctx.out.say(`Deleted release(s) ${deleted.join(', ')}`);
  // What the walk would not delete (a mount, entries rewritten while it ran) stays, said once, cut short.
  const partly = left.length > 0 ? `; left in deleted releases: ${left.slice(0, 3).join(', ')}` : '';
  return `; releases kept: ${kept.join(', ')}${partly}`;
}

/**
 * What an interrupt during the switch does: before the switch was recorded, the include goes back (at once, before
 * the switch can take another step), nginx reloads in a session of its own and new workers are awaited, the state's
 * "switching" mark is cleared once that is confirmed, and the unit enabled for the port is disabled again; after,
 * the other units are disabled as the switch would have.
 */
function guardSwitch(
  ctx: HookContext,
  roles: PortRoles,
  port: number,
  boot: { host: Supervisor; enabled: BootEnablement },
  switching: { recorded: boolean },
): () => Promise<string> {
  const nginx = roles.blueGreen ? ctx.config.nginx : undefined;
  const include = nginx ? saveInclude(nginx) : null;
  const { host, enabled } = boot;
  return async () => {
    if (switching.recorded) {
      return `nginx was switched to port ${port} and recorded${host.disableOthers(ctx.config, port, ctx.out)}`;
    }
    const was = roles.live !== null ? `port ${roles.live}` : 'no include';
    const undone = nginx && include ? undoSwitch(nginx, include, was) : null;
    const unbooted = host.undoEnable(ctx.config, port, enabled, ctx.out);
    const result = await undone;
    if (result?.confirmed) clearSwitchMark(ctx.appDir);
    return [result?.clause ?? '', unbooted].filter(Boolean).join('; ');
  };
}

/**
 * The recorded process (under systemd, its unit's run) owns every listener on the port, answers health, and still
 * does health.settle later: the verdict's clause.
 */
async function proveApp(
  ctx: HookContext,
  record: StartRecord,
  port: number,
): Promise<{ clause: string; tree: ProcessInfo }> {
  const unit = record.unit ? ` (${record.unit})` : '';
  ctx.out.begin(`Verifying PID ${record.pid}${unit} owns port ${port}`, { port, pid: record.pid });
  const supervisor = supervisorOf(record);
  const confirm = (when?: string) => supervisor.confirm(record, port, ctx.config, when);
  const info = confirm();
  proveTreeOwnsPort(info, port);
  const health = ctx.config.health;
  const ask = {
    url: resolvePort(ctx.config, port).healthUrl,
    expectStatus: health.expectStatus,
    expectBody: health.expectBody,
    requestTimeoutMs: health.requestTimeout,
    tls: health.tls,
  };
  const untilMs = Math.min(Date.now() + health.timeout, ctx.deadline.at);
  const healthy = await waitForHealthy(info, { ...ask, intervalMs: health.interval, untilMs }, ctx.out);
  // Ownership again after the health checks: a second listener could have appeared while we waited.
  confirm();
  const { listeners } = proveTreeOwnsPort(info, port);
  // An app that answers once and then dies must not pass: the same process, still owning the port and healthy, later.
  const settle = { settleMs: health.settle, deadlineAt: ctx.deadline.at, health: ask };
  const stillOwner = (when: string) => {
    const now = confirm(when);
    try {
      proveTreeOwnsPort(now, port, when);
    } catch (error) {
      // A process that exits mid-check leaves a listener no one holds for a moment: its exit is the reason, if so.
      confirm(when);
      throw error;
    }
    return now;
  };
  const settled = await settleOwner(settle, stillOwner, ctx.out);
  const count = listeners > 1 ? `, ${listeners} listeners` : '';
  const owner = `PID ${info.pid} (${info.comm}, started ${formatClock(info.startedAt)}${count})`;
  const answer = `HTTP ${healthy.status} in ${formatDuration(healthy.latencyMs)}, try ${healthy.attempts}`;
  const still = settled ? `; still healthy ${formatDuration(health.settle)} later` : '';
  const fields = { port, pid: info.pid, attempts: healthy.attempts, settledMs: settled?.waitedMs };
  ctx.log.info({ ...fields, healthyAfterMs: healthy.waitedMs }, 'verified');
  return { clause: `port ${port} owned by ${owner}; healthy (${answer})${still}`, tree: info };
}

/**
 * A release ValidateService rejects is not left where its supervisor would keep restarting it next to the live app
 * (systemd's Restart=): its supervisor dismisses it, its record is dropped, and the verdict says so. Not the port nginx
 * serves, and not on a rollback (--port): the operator chose that one.
 */
async function stopRejected(
  ctx: HookContext,
  state: AppState,
  roles: PortRoles,
  record: StartRecord,
  port: number,
  error: unknown,
): Promise<unknown> {
  const served = roles.live === port || state.live === port;
  if (!(error instanceof HookError) || served || ctx.options.port !== undefined || isInterrupted()) return error;
  const dismissed = await supervisorOf(record).dismiss(record, ctx.out);
  if (dismissed === '') return error;
  if (forgetPort(state, port)) {
    try {
      writeState(ctx.appDir, state);
    } catch {
      // The record names a run that has ended: ApplicationStop and ValidateService see it is gone.
    }
  }
  const message = `${error.message}; ${dismissed}`;
  return new HookError(error.code, message, error.context, { cause: error });
}

function choosePort(ctx: HookContext, state: AppState, roles: PortRoles): number {
  const port = ctx.options.port ?? state.lastStarted ?? roles.target;
  if (!ctx.config.ports.includes(port)) {
    throw new HookError(
      'BAD_USAGE',
      `--port ${port} is not one of the configured ports (${ctx.config.ports.join(', ')})`,
    );
  }
  return port;
}

/** What the switch works from: the state and roles read once, the port and its proved tree, nginx's files. */
interface SwitchInputs {
  state: AppState;
  roles: PortRoles;
  port: number;
  tree: ProcessInfo;
  files: NginxFiles | null;
}

async function switchTraffic(
  ctx: HookContext,
  inputs: SwitchInputs,
  switching: { recorded: boolean },
): Promise<string> {
  const { state, roles, port } = inputs;
  if (!roles.blueGreen || !ctx.config.nginx) return '';
  // The include alone is not proof: a hook killed mid-switch can leave it naming this port before any reload.
  if (roles.live === port && state.live === port && state.switching === null) {
    ctx.out.say(`nginx already points at port ${port}`);
    return `; nginx already → ${port}`;
  }
  // The previous port counts only if portproof started something there: it is what a rollback would return to.
  const previous =
    roles.live === port ? state.previous : roles.live !== null && findRecord(state, roles.live) ? roles.live : null;
  // Switch first, record second: a record that cannot be written puts nginx back, so the two never disagree.
  const record = () => {
    writeState(ctx.appDir, recordSwitch(state, port, previous));
    switching.recorded = true;
  };
  // Before the include is written: a hook killed from here on leaves "switching" for the next hook and --check.
  const begin = () => writeState(ctx.appDir, markSwitching(state, roles.live, port));
  const undone = () => clearSwitchMark(ctx.appDir);
  const hooks = { record, begin, undone, interrupted: isInterrupted };
  const plan = { port, tree: inputs.tree, files: inputs.files, untilMs: ctx.deadline.at, ...hooks };
  const proof = await switchNginx(ctx.config.nginx, ctx.config.ports, plan, ctx.out);
  ctx.log.info({ port, proof }, 'switched');
  const proved = proof.proved ? `: ${describeReached(proof)}` : ` (not proved that requests reach it: ${proof.reason})`;
  return `; nginx now → ${port}${proved}${describePrevious(state, previous)}`;
}

/** Clear the state's "switching" mark once nginx is confirmed back on the old include; best effort. */
function clearSwitchMark(appDir: string): void {
  try {
    writeState(appDir, clearSwitching(readState(appDir)));
  } catch {
    // A mark left behind is checked against nginx by the next hook and --check: nginx serving the include as the
    // state records it reads as settled, so a stale mark costs a line, never a refusal.
  }
}

/** "3 of 3 requests through nginx reached PID 5120", saying how many more were sent but not seen (no keep-alive). */
function describeReached(proof: { requests: number; sent: number; pid: number }): string {
  const unseen = proof.sent - proof.requests;
  const more = unseen > 0 ? ` (${unseen} more sent, not observed: their upstream connections closed unseen)` : '';
  return `${proof.requests} of ${proof.requests} requests through nginx reached PID ${proof.pid}${more}`;
}

/** "(previous 8081 kept for rollback)" only while the process recorded there still runs and owns its port. */
function describePrevious(state: AppState, previous: number | null): string {
  const record = previous === null ? undefined : findRecord(state, previous);
  if (previous === null || !record) return '';
  if (stillOwnsPort(record, previous)) return ` (previous ${previous} kept for rollback)`;
  return ` (previous ${previous} no longer runs its recorded PID ${record.pid}: nothing to roll back to)`;
}
