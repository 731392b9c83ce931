import fs from 'node:fs';
import { formatDuration } from '../config/duration.ts';
import { displayUrl } from '../config/secrets.ts';
import type { LoadedConfig } from '../config/load.ts';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import type { Progress } from '../progress.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { formatArgv, runCommand, type CommandResult } from '../run-command.ts';
import { pollUntil } from '../wait.ts';
import { compileLinePattern, includeRefusal, readIncludeText, renderInclude, rewriteIncludePort } from './include.ts';
import { readIncludeFile, restoreIncludeFile, writeIncludeFile, type IncludeFile } from './include-file.ts';
import { oldWorkersStoppedAccepting, readNginxMaster, readWorkerKeys } from './master.ts';
import { DefaultMinRestoreMs, DefaultProofRequests } from '../defaults.ts';
import type { NginxFiles } from './loaded-files.ts';
import { proveRequestsReachTree, type TrafficProof } from './traffic-proof.ts';
import { findDirectRoutes, refuseDirectRoutes } from './direct-routes.ts';
import { compareRunningConfig, judgeMaster } from './proof-stages.ts';

type NginxConfig = NonNullable<LoadedConfig['nginx']>;

/** What a switch must reach, and what nginx -T said it loads. */
export interface SwitchPlan {
  port: number;
  /** The process tree that owns the port: requests through nginx must reach it. */
  tree: ProcessInfo;
  files: NginxFiles | null;
  untilMs: number;
  /** The state write, last: its failure undoes the switch too. */
  record: () => void;
  /** Marks the switch begun (the state's "switching A → B"), before the include is written: a failure stops it. */
  begin?: () => void;
  /** The switch was undone and nginx confirmed back on the old include: the mark is cleared (best effort). */
  undone?: () => void;
  /** True once the hook is interrupted: its guard owns the undo, and the switch stops at its next step. */
  interrupted?: () => boolean;
}

/**
 * Point nginx at `port`: rewrite only the include's active line (atomically, through a symlink, mode and owner
 * kept), config test, reload, proof the reload took effect (new workers), requests through nginx.url proved to reach
 * the tree, then `record` (the state write). Any failure, the record's included, puts the previous bytes back,
 * reloads, and throws the reason: nginx and the recorded state never disagree.
 */
export async function switchNginx(
  nginx: NginxConfig,
  ports: readonly number[],
  plan: SwitchPlan,
  out: Progress,
): Promise<TrafficProof> {
  const { port, untilMs } = plan;
  const include = readIncludeForSwitch(nginx.include, port);
  const reading = readIncludeText(include.bytes?.toString('latin1') ?? '', compileLinePattern(nginx.line), ports);
  if (reading.kind === 'unknown') throw includeRefusal(nginx.include, reading);
  // Before any traffic: a route nginx's config sends to a configured port by number is one no switch moves.
  if (plan.files) {
    const skip = includeNames(plan.files, [nginx.include, include.target]);
    const refusal = refuseDirectRoutes(findDirectRoutes(plan.files, ports, skip), port);
    if (refusal) throw new HookError('NGINX_FAILED', refusal, { port });
  }
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running)
    throw new HookError('NGINX_FAILED', `${running.problem}; include ${nginx.include} left unchanged`, { port });
  // The pid file must name an nginx master running the config nginx.test checks: a reload of anything else proves
  // nothing about what users are served.
  const wrong = judgeMaster(running.master) ?? compareRunningConfig(running.master.command, nginx.test);
  if (wrong) {
    const message = `${wrong} (nginx.pidFile ${nginx.pidFile}); include ${nginx.include} left unchanged`;
    throw new HookError('NGINX_FAILED', message, { port });
  }
  const next = reading.kind === 'live' ? rewriteIncludePort(reading, port) : renderInclude(nginx.line, port);
  const where = include.target === nginx.include ? nginx.include : `${nginx.include} → ${include.target}`;
  out.begin(`Switching nginx to port ${port}: writing ${where}`);
  plan.begin?.();
  try {
    stopIfInterrupted(plan);
    writeIncludeFile(include, Buffer.from(next, 'latin1'));
  } catch (error) {
    const why = describeFsError(error);
    const message = `cannot write nginx include ${include.target}: ${why}; nginx left unchanged`;
    throw new HookError('NGINX_FAILED', message, { port });
  }
  const progress = { reloaded: false };
  try {
    const proof = await applyInclude(nginx, { ...plan, others: ports.filter((p) => p !== port) }, out, progress);
    stopIfInterrupted(plan);
    plan.record();
    return proof;
  } catch (error) {
    // An interrupt's guard has put the include back and reloaded, detached: a second restore would race it.
    if (plan.interrupted?.()) throw error;
    const was = reading.kind === 'live' ? `port ${reading.port}` : 'no include';
    out.say(`Restoring the previous include (${was}) and reloading`);
    const restore = { was, confirm: progress.reloaded, untilMs, undone: plan.undone };
    throw await restoreInclude(nginx, include, restore, error);
  }
}

/** An interrupted hook takes no further step of the switch: its guard undoes what was done. */
function stopIfInterrupted(plan: SwitchPlan): void {
  if (plan.interrupted?.()) throw new HookError('INTERRUPTED', 'the switch was interrupted');
}

/** The include's bytes and attributes before the switch; a file that cannot be read is the operator's to fix. */
function readIncludeForSwitch(file: string, port: number): IncludeFile {
  try {
    return readIncludeFile(file);
  } catch (error) {
    // A link others could redirect is refused as such, with its own code.
    if (error instanceof HookError) throw error;
    // Not missing (that is a first deployment) but unreadable: permissions, a loop of links, an I/O error.
    const message = `cannot read nginx include ${file}: ${describeFsError(error)}; nginx left unchanged`;
    throw new HookError('NGINX_FAILED', message, { port });
  }
}

async function applyInclude(
  nginx: NginxConfig,
  plan: SwitchPlan & { others: number[] },
  out: Progress,
  progress: { reloaded: boolean },
): Promise<TrafficProof> {
  const { untilMs } = plan;
  const test = await runCommand(nginx.test, Math.max(1000, untilMs - Date.now()));
  stopIfInterrupted(plan);
  if (!succeeded(test)) throw commandError(nginx.test, test, 'rejected the new config');
  out.begin('Reloading nginx and waiting for new workers');
  const { master, oldWorkers } = await reloadAndConfirm(nginx, untilMs, progress);
  stopIfInterrupted(plan);
  if (!nginx.url) return { proved: false, reason: 'no nginx.url to send requests through' };
  // The URL as printed and logged: a password in it is shown as ***.
  out.begin(`Proving requests through ${displayUrl(nginx.url)} reach PID ${plan.tree.pid}`);
  const { port, others, tree } = plan;
  const target = { url: nginx.url, tls: nginx.tls, master, port, others, tree, oldWorkers, untilMs };
  return proveRequestsReachTree({ ...target, requests: DefaultProofRequests });
}

/** The names nginx -T gives the include (as configured, or its link's target, or any path that resolves to it). */
function includeNames(files: NginxFiles, names: string[]): Set<string> {
  const real = (file: string) => {
    try {
      return fs.realpathSync(file);
    } catch {
      // Gone since nginx -T listed it: it is not the include.
      return file;
    }
  };
  const wanted = new Set(names.map(real));
  return new Set([...files.keys()].filter((file) => names.includes(file) || wanted.has(real(file))));
}

/**
 * Reload, then wait until the master has new workers and the old ones no longer accept connections; returns the
 * master and the old workers ("pid:startTime"), which may still finish requests they had taken.
 */
async function reloadAndConfirm(
  nginx: NginxConfig,
  untilMs: number,
  progress = { reloaded: false },
): Promise<{ master: ProcessInfo; oldWorkers: Set<string> }> {
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running) throw new HookError('NGINX_FAILED', running.problem);
  const workersBefore = readWorkerKeys(running.master);
  const reload = await runCommand(nginx.reload, Math.max(1000, untilMs - Date.now()));
  if (!succeeded(reload)) throw commandError(nginx.reload, reload, 'failed');
  const reloadUntil = Math.min(Date.now() + nginx.reloadTimeout, untilMs);
  const renewed = await pollUntil(
    () => ([...readWorkerKeys(running.master)].some((w) => !workersBefore.has(w)) ? true : undefined),
    reloadUntil,
  );
  if (!renewed.done) {
    const waited = formatDuration(renewed.waitedMs);
    const restarted = describeMasterChange(nginx.pidFile, running.master);
    // A master that is no longer the one reloaded rejected nothing: nginx.service (or someone) restarted or stopped it.
    if (restarted !== null) throw new HookError('NGINX_FAILED', `nginx reload did not take effect: ${restarted}`);
    throw new HookError(
      'NGINX_FAILED',
      `nginx reload did not take effect: no new worker processes after ${waited} ` +
        "(the master probably rejected the config; see nginx's error log)",
    );
  }
  progress.reloaded = true;
  // New workers alone are not enough: until the old ones close their listening sockets they still take connections.
  const drained = await pollUntil(
    () => (oldWorkersStoppedAccepting(running.master, workersBefore) ? true : undefined),
    reloadUntil,
  );
  if (!drained.done) {
    throw new HookError(
      'NGINX_FAILED',
      'nginx reload incomplete: old worker processes still accept connections after ' +
        formatDuration(renewed.waitedMs + drained.waitedMs),
    );
  }
  return { master: running.master, oldWorkers: workersBefore };
}

interface RestorePlan {
  /** What the include named before ("port 8081"). */
  was: string;
  /** The new config took effect: the restore must too, or nginx serves the new port. */
  confirm: boolean;
  untilMs: number;
  /** Called once the previous include is back and nginx runs it (or never took the new one). */
  undone?: () => void;
}

/**
 * Put the previous include back and reload; returns the error to throw. When the new config had taken effect the
 * reload is confirmed, and the verdict says nginx went back, or that the restore failed too and what to do.
 */
async function restoreInclude(
  nginx: NginxConfig,
  include: IncludeFile,
  plan: RestorePlan,
  cause: unknown,
): Promise<unknown> {
  const first = cause instanceof HookError ? cause : null;
  const { was } = plan;
  try {
    restoreIncludeFile(include);
    if (plan.confirm) await reloadAndConfirm(nginx, Math.max(plan.untilMs, Date.now() + DefaultMinRestoreMs));
    else await reloadBestEffort(nginx, plan.untilMs);
  } catch (error) {
    // The first failure stays the headline; the failed restore is what the operator must fix before anything else.
    if (first === null) return cause;
    const why = error instanceof HookError ? error.message : describeFsError(error);
    const detail =
      `restoring the previous include (${was}) failed too: ${why}; nginx may serve either port: ` +
      'fix nginx, then run "hooks/validate --port N" for the port it should serve';
    return new HookError(first.code, `${first.message}; ${detail}`, first.context, { cause });
  }
  plan.undone?.();
  // Before the reload took effect nginx never served the new port: the first failure says all there is to say.
  if (first === null || !plan.confirm) return cause;
  const message = `${first.message}; nginx put back on ${was} (include restored and reloaded), nothing switched`;
  return new HookError(first.code, message, first.context, { cause });
}

/** The old behaviour for a switch nginx never took: reload once, and let the first failure be the verdict. */
async function reloadBestEffort(nginx: NginxConfig, untilMs: number): Promise<void> {
  // nginx still runs its old config (the test or the reload failed): a reload that fails again changes nothing.
  if (!('problem' in readNginxMaster(nginx.pidFile)))
    await runCommand(nginx.reload, Math.max(1000, Math.min(10_000, untilMs - Date.now())));
}

/** How the master changed since `before` was read ("nginx was restarted: …"), or null while it is the same process. */
function describeMasterChange(pidFile: string, before: ProcessInfo): string | null {
  const now = readNginxMaster(pidFile);
  if ('problem' in now) return `the master PID ${before.pid} it was sent to is gone (${now.problem})`;
  if (now.master.pid === before.pid && now.master.startTime === before.startTime) return null;
  return `nginx was restarted meanwhile (master PID ${before.pid} → ${now.master.pid}, by nginx.service or by hand)`;
}

function succeeded(result: CommandResult): boolean {
  return result.error === null && result.code === 0;
}

function commandError(argv: string[], result: CommandResult, what: string): HookError {
  const lines = result.output.split('\n').filter((l) => l.trim() !== '');
  const said =
    result.error ?? lines.find((l) => /emerg|error|crit|alert/.test(l)) ?? lines[0] ?? `exit code ${result.code}`;
  return new HookError('NGINX_FAILED', `${formatArgv(argv)} ${what}: ${said}`, { evidence: lines.slice(-10) });
}
