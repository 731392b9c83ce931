import { resolvePort } from '../core/config/resolve-port.ts';
import { HookError } from '../core/errors.ts';
import { cleanStrings } from '../core/text/clean-line.ts';
import type { FlowOutcome, HookContext } from '../runner/context.ts';
import { assertNginxReadsInclude } from '../core/nginx/loaded-files.ts';
import { judgeCheck } from './check-status.ts';
import { describeNginxReport, inspectRunningNginx } from './check-nginx.ts';
import { judgeLiveOwner } from './check-owner.ts';
import { judgeAnswer } from '../core/health/check.ts';
import { probeOnce } from '../core/health/probe.ts';
import { describeProcess } from '../core/process/describe.ts';
import { findListeners, isSameProcess } from '../core/procfs/index.ts';
import { findRecord, readState, type StartRecord } from '../core/state/state.ts';
import { readPortRoles, type PortRoles } from './ports.ts';
import {
  hostSupervisor,
  supervisorFor,
  supervisorOf,
  type SupervisionReport,
  type SupervisorName,
} from '../core/supervisor/index.ts';
import { describeFsError } from '../core/fs-error.ts';
import { releasesDir } from '../core/release/make-release.ts';
import { listReleases } from '../core/release/prune-releases.ts';
import { describeBootRival } from '../core/supervisor/index.ts';
import { reportBootRivals } from './boot-rivals.ts';

/** What --check found on one port; under systemd, the port's unit as systemd sees it. */
export interface PortReport extends SupervisionReport {
  port: number;
  /** 'unknown' when the nginx include does not say which port is live (the report says why). */
  role: 'live' | 'target' | 'in-place' | 'unknown';
  recorded: (StartRecord & { running: boolean }) | null;
  owners: Array<{ pid: number; user: string; startedAt: string; command: string; address: string }>;
  unknownOwners: number;
  health: { ok: boolean; status: number | null; detail: string };
  supervisor: SupervisorName;
}

/**
 * --check: a read-only report of both ports (role, owner, health); it writes, locks and signals nothing. Its exit
 * code is a status, as systemctl status's is (check-status.ts): 0 only when the live port is its recorded
 * process's, healthy, and nginx and the state agree.
 */
export async function checkFlow(ctx: HookContext): Promise<FlowOutcome> {
  const { roles, includeProblem } = readRolesForReport(ctx);
  const state = readState(ctx.appDir);
  const nginxProblem = includeProblem ?? (await findNginxDisagreement(ctx, roles.live, state.live));
  if (!ctx.options.json) ctx.out.say(`config: ${ctx.config.file}`);
  if (!ctx.options.json && nginxProblem !== null) ctx.out.say(`nginx include: ${nginxProblem}`);
  const reports: PortReport[] = [];
  for (const port of ctx.config.ports) {
    const role = !roles.blueGreen
      ? 'in-place'
      : includeProblem !== null
        ? 'unknown'
        : port === roles.live
          ? 'live'
          : 'target';
    const report = await inspectPort(ctx, port, role, findRecord(state, port) ?? null);
    reports.push(report);
    if (!ctx.options.json) printPort(ctx, report);
  }
  if (!ctx.options.json) printReleases(ctx, reports);
  const bootRivals = reportBootRivals(ctx.config, ctx.out, !ctx.options.json);
  const live = reports.find((r) => r.port === roles.live && includeProblem === null) ?? null;
  const owner = live ? judgeLiveOwner(findRecord(state, live.port), live.port) : null;
  const liveTree = live && owner?.tree ? { port: live.port, tree: owner.tree } : null;
  const running = await inspectRunningNginx(ctx, state, liveTree);
  const restart = owner?.restart ?? null;
  if (!ctx.options.json)
    for (const line of [...describeNginxReport(running), ...(restart ? [restart] : [])]) ctx.out.say(line);
  const nginxNow = { nginxDown: running?.problem ?? null, switchInterrupted: running?.interruptedSwitch ?? null };
  const liveOwnedByRecord = owner?.owned ?? false;
  const status = judgeCheck({ preflight: ctx.preflight, nginxProblem, live, liveOwnedByRecord, ...nginxNow });
  if (ctx.options.json) {
    // Every string as printed lines are cleaned: a command line may carry C1 controls or bidi overrides JSON keeps.
    const { lastStarted, problem: stateProblem } = state;
    const { file: config, app } = ctx.config;
    const { healthy, exitCode, reasons } = status;
    const report = {
      ...{ config, app: app.name, healthy, status: exitCode, reasons },
      ...{ live: roles.live, includeProblem: nginxProblem, lastStarted, stateProblem, ports: reports },
      ...{ nginx: running, restart },
      bootRivals,
    };
    process.stdout.write(`${JSON.stringify(cleanStrings(report))}\n`);
  }
  const ports = reports.map(summarizePort).join(', ');
  const restarted = restart ? `; ${restart}` : '';
  const rivalled = bootRivals.map((r) => `; WARNING: ${describeBootRival(r)}`).join('');
  const summary = `${status.healthy ? `${ports}${restarted}` : `${status.reasons.join('; ')} [${ports}]`}${rivalled}`;
  return { summary, exitCode: status.exitCode };
}

/**
 * Blue/green: why nginx may not serve what the state says, or null. nginx must load the include (nginx -T), and the
 * include must name the port the state recorded as live.
 */
async function findNginxDisagreement(ctx: HookContext, live: number | null, recorded: number | null) {
  const nginx = ctx.config.nginx;
  if (!nginx || ctx.config.ports.length < 2) return null;
  try {
    await assertNginxReadsInclude(nginx, ctx.deadline.at);
  } catch (error) {
    // The refusal a hook would make is the report's reason; anything else is the check's own failure.
    if (!(error instanceof HookError) || !['INCLUDE_NOT_READ', 'NGINX_FAILED'].includes(error.code)) throw error;
    return error.message;
  }
  if (recorded === null || live === recorded) return null;
  const names = live === null ? 'no port' : `port ${live}`;
  return `nginx include ${nginx.include} names ${names} but the state records the last switch to port ${recorded}`;
}

/** One port in the verdict: who listens (PIDs, and owners that cannot be read), and whether it is healthy. */
export function summarizePort(report: PortReport): string {
  const pids = [...new Set(report.owners.map((o) => o.pid))];
  if (pids.length === 0 && report.unknownOwners === 0) return `${report.port} ${report.role} (nothing listening)`;
  const unread = report.unknownOwners > 0 ? [`${report.unknownOwners} listener(s) with an unreadable owner`] : [];
  const who = [...(pids.length > 0 ? [`PID ${pids.join(',')}`] : []), ...unread].join(' + ');
  return `${report.port} ${report.role} (${who}, ${report.health.ok ? 'healthy' : 'unhealthy'})`;
}

/** The port roles; an include whose live port cannot be told is reported, not fatal: --check is the diagnosis. */
function readRolesForReport(ctx: HookContext): { roles: PortRoles; includeProblem: string | null } {
  try {
    return { roles: readPortRoles(ctx.config), includeProblem: null };
  } catch (error) {
    // Only an include that cannot be read safely or told apart is reported; anything else is the hook's failure.
    if (!(error instanceof HookError) || !['INCLUDE_UNKNOWN', 'INCLUDE_UNSAFE'].includes(error.code)) throw error;
    return { roles: { live: null, target: ctx.config.ports[0]!, blueGreen: true }, includeProblem: error.message };
  }
}

async function inspectPort(
  ctx: HookContext,
  port: number,
  role: PortReport['role'],
  record: StartRecord | null,
): Promise<PortReport> {
  const { listeners } = findListeners(port);
  const owners = listeners.flatMap((l) =>
    l.owners.map((o) => ({
      pid: o.pid,
      user: o.user,
      startedAt: o.startedAt.toISOString(),
      command: o.command,
      address: `${l.address}:${l.port}`,
    })),
  );
  const unknownOwners = listeners.filter((l) => l.owners.length === 0).length;
  const url = resolvePort(ctx.config, port).healthUrl;
  let health: PortReport['health'] = { ok: false, status: null, detail: 'not checked: nothing listening' };
  if (listeners.length > 0) {
    const { requestTimeout, tls } = ctx.config.health;
    const answer = await probeOnce(url, Math.min(requestTimeout, 3000), () => null, tls);
    const reason = judgeAnswer(answer, ctx.config.health);
    health = { ok: reason === null, status: answer.status, detail: reason ?? `HTTP ${answer.status}` };
  }
  return {
    port,
    role,
    recorded: record ? { ...record, running: isSameProcess(record) } : null,
    owners,
    unknownOwners,
    health,
    supervisor: (record ? supervisorOf(record) : supervisorFor(ctx.config)).name,
    ...hostSupervisor().inspect(ctx.config, port, record),
  };
}

function printPort(ctx: HookContext, report: PortReport): void {
  ctx.out.say(`port ${report.port} (${report.role}):`);
  if (report.owners.length === 0 && report.unknownOwners === 0) ctx.out.say('  nothing listening');
  for (const owner of report.owners) {
    ctx.out.say(`  ${owner.address} ${describeProcess({ ...owner, startedAt: new Date(owner.startedAt) })}`);
  }
  if (report.unknownOwners > 0)
    ctx.out.say(`  ${report.unknownOwners} listener(s) with an owner that cannot be read (run as root)`);
  if (report.recorded) {
    const r = report.recorded;
    const deployment = r.deploymentId ? ` (deployment ${r.deploymentId})` : '';
    const running = r.running ? 'still running' : 'no longer running';
    ctx.out.say(`  recorded by ApplicationStart: PID ${r.pid}${deployment}, ${running}`);
  }
  if (report.unit !== undefined) {
    const main = report.mainPid ? `, main PID ${report.mainPid}` : '';
    const restarts = report.restarts !== undefined ? `, ${report.restarts} restart(s) since ApplicationStart` : '';
    const boot = report.enabled === undefined ? '' : report.enabled ? ', starts at boot' : ', not started at boot';
    ctx.out.say(`  systemd: ${report.unit} ${report.activeState}${main}${restarts}${boot}`);
    if (report.unitProblem) ctx.out.say(`  WARNING: ${report.unitProblem}`);
  } else {
    ctx.out.say(`  supervisor: ${report.supervisor}`);
  }
  ctx.out.say(`  health: ${report.health.ok ? 'OK' : 'FAILING'} — ${report.health.detail}`);
}

/** The releases kept under the state directory, each with the port whose recorded app runs from it. */
function printReleases(ctx: HookContext, reports: PortReport[]): void {
  let names: string[];
  try {
    names = listReleases(ctx.appDir).names;
  } catch (error) {
    // A report run as a user who may not read the state directory: said, the rest of the report stands.
    ctx.out.say(`releases: cannot be listed (${describeFsError(error)})`);
    return;
  }
  if (names.length === 0) return;
  const users = (name: string) => reports.filter((r) => r.recorded?.release === name).map((r) => `port ${r.port}`);
  const kept = names.map((name) => (users(name).length > 0 ? `${name} (${users(name).join(', ')})` : name));
  ctx.out.say(`releases kept in ${releasesDir(ctx.appDir)}: ${kept.join(', ')}`);
  for (const r of reports.filter((p) => p.recorded?.release && !names.includes(p.recorded.release))) {
    ctx.out.say(`  WARNING: release ${r.recorded!.release} of port ${r.port} is gone`);
  }
}
