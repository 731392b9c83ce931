// --check's look at the running nginx (blue/green): the master from the pid file is alive and is nginx, it has
// workers, and one request through nginx.url reaches the live port's process tree, attributed as the switch's proof.
import { HookError } from '../core/errors.ts';
import { listWorkers, readNginxMaster } from '../core/nginx/master.ts';
import { judgeMaster } from '../core/nginx/proof-stages.ts';
import { proveRequestsReachTree } from '../core/nginx/traffic-proof.ts';
import type { ProcessInfo } from '../core/procfs/types.ts';
import type { AppState } from '../core/state/state.ts';
import type { HookContext } from '../runner/context.ts';
import { findInterruptedSwitch } from './interrupted-switch.ts';

/** What --check found about the running nginx; `problem` is why it does not serve the live port, if it does not. */
export interface NginxReport {
  masterPid: number | null;
  workers: number;
  /** "1 of 1 requests through nginx reached PID 5120", or why none was sent or could be attributed. */
  probe: string | null;
  problem: string | null;
  /** A switch a killed hook left unsettled: the host may serve either port. */
  interruptedSwitch: string | null;
}

/** The live port's tree a probe through nginx must reach: null when nothing recorded owns the live port. */
export interface LiveTarget {
  port: number;
  tree: ProcessInfo;
}

/** Inspect the running nginx for --check; null in place (no nginx in the config). */
export async function inspectRunningNginx(
  ctx: HookContext,
  state: AppState,
  live: LiveTarget | null,
): Promise<NginxReport | null> {
  const nginx = ctx.config.nginx;
  if (!nginx || ctx.config.ports.length < 2) return null;
  const interrupted = findInterruptedSwitch(ctx.config, state);
  const interruptedSwitch = interrupted && !interrupted.settled ? interrupted.message : null;
  const base = { masterPid: null, workers: 0, probe: null, interruptedSwitch };
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running) return { ...base, problem: running.problem };
  const { master } = running;
  // The same rule as the switch's: a pid file naming another program is no nginx to check.
  const notNginx = judgeMaster(master);
  if (notNginx !== null) return { ...base, masterPid: master.pid, problem: `nginx.pidFile names ${notNginx}` };
  const workers = listWorkers(master).length;
  const known = { ...base, masterPid: master.pid, workers };
  if (workers === 0) return { ...known, problem: `nginx master PID ${master.pid} has no worker processes` };
  if (!nginx.url || live === null) return { ...known, probe: null, problem: null };
  // Attribution reads nginx's workers' fds: a monitor that is not root would see nothing, which is no evidence.
  if (process.getuid?.() !== 0)
    return { ...known, probe: 'not checked: run as root to attribute a request', problem: null };
  try {
    const probe = await probeThroughNginx(ctx, master, live);
    return { ...known, probe, problem: null };
  } catch (error) {
    // The proof's own refusal (requests reach another port, another process answers) is what --check reports.
    if (!(error instanceof HookError)) throw error;
    return { ...known, probe: error.message, problem: `through nginx: ${error.message}` };
  }
}

/** One request through nginx.url, attributed to the live tree as the switch's proof does (socket owners, both ends). */
async function probeThroughNginx(ctx: HookContext, master: ProcessInfo, live: LiveTarget): Promise<string> {
  const nginx = ctx.config.nginx!;
  const others = ctx.config.ports.filter((p) => p !== live.port);
  const untilMs = Math.min(Date.now() + 5000, ctx.deadline.at);
  const target = { url: nginx.url!, tls: nginx.tls, master, port: live.port, tree: live.tree, others };
  const proof = await proveRequestsReachTree({ ...target, requests: 1, untilMs });
  if (proof.proved) return `${proof.requests} of ${proof.requests} requests through nginx reached PID ${proof.pid}`;
  return `not proved: ${proof.reason}`;
}

/** The report's lines for a person: the master and its workers, the probe, an unsettled switch. */
export function describeNginxReport(report: NginxReport | null): string[] {
  const lines: string[] = [];
  if (report === null) return lines;
  if (report.interruptedSwitch) lines.push(`WARNING: ${report.interruptedSwitch}`);
  if (report.masterPid !== null && report.problem === null)
    lines.push(`nginx: master PID ${report.masterPid}, ${report.workers} worker(s)`);
  if (report.problem !== null) lines.push(`nginx: ${report.problem}`);
  else if (report.probe !== null) lines.push(`nginx: ${report.probe}`);
  return lines;
}
