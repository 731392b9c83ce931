import fs from 'node:fs';
import { writeFileAtomic } from '../atomic-write.ts';
import { formatDuration } from '../config/duration.ts';
import type { LoadedConfig } from '../config/load.ts';
import { HookError } from '../errors.ts';
import type { HookOutput } from '../hook/output.ts';
import { probeOnce } from '../health/probe.ts';
import type { TlsSettings } from '../health/tls.ts';
import { formatArgv, runCommand, type CommandResult } from '../run-command.ts';
import { pollUntil } from '../wait.ts';
import { readLivePort, renderInclude } from './include.ts';
import { oldWorkersStoppedAccepting, readNginxMaster, readWorkerKeys } from './master.ts';

type NginxConfig = NonNullable<LoadedConfig['nginx']>;

/**
 * Point nginx at `port`: atomic include write, config test, reload, proof the reload took effect (new workers),
 * optional probe through nginx. Any failure puts the previous include back, reloads, and throws the reason.
 */
export async function switchNginx(nginx: NginxConfig, port: number, out: HookOutput, untilMs: number): Promise<void> {
  const before = readLivePort(nginx.include, nginx.line);
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running) throw new HookError('NGINX_FAILED', `${running.problem}; include ${nginx.include} left unchanged`, { port });
  out.begin(`Switching nginx to port ${port}: writing ${nginx.include}`);
  writeFileAtomic(nginx.include, renderInclude(nginx.line, port));
  try {
    await applyInclude(nginx, running.master.pid, out, untilMs);
  } catch (error) {
    out.say(`Restoring the previous include (${before.port === null ? 'none' : `port ${before.port}`}) and reloading`);
    await restoreInclude(nginx, before.text, untilMs);
    throw error;
  }
}

async function applyInclude(nginx: NginxConfig, masterPid: number, out: HookOutput, untilMs: number): Promise<void> {
  const test = await runCommand(nginx.test, Math.max(1000, untilMs - Date.now()));
  if (!succeeded(test)) throw commandError(nginx.test, test, 'rejected the new config');
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running) throw new HookError('NGINX_FAILED', running.problem);
  const workersBefore = readWorkerKeys(running.master);
  out.begin(`Reloading nginx (master PID ${masterPid}) and waiting for new workers`);
  const reload = await runCommand(nginx.reload, Math.max(1000, untilMs - Date.now()));
  if (!succeeded(reload)) throw commandError(nginx.reload, reload, 'failed');
  const reloadUntil = Math.min(Date.now() + nginx.reloadTimeout, untilMs);
  const renewed = await pollUntil(() => ([...readWorkerKeys(running.master)].some((w) => !workersBefore.has(w)) ? true : undefined), reloadUntil);
  if (!renewed.done) {
    throw new HookError('NGINX_FAILED', `nginx reload did not take effect: no new worker processes after ${formatDuration(renewed.waitedMs)} (the master probably rejected the config; see nginx's error log)`);
  }
  // New workers alone are not enough: until the old ones close their listening sockets they still take connections.
  const drained = await pollUntil(() => (oldWorkersStoppedAccepting(running.master, workersBefore) ? true : undefined), reloadUntil);
  if (!drained.done) {
    throw new HookError('NGINX_FAILED', `nginx reload incomplete: old worker processes still accept connections after ${formatDuration(renewed.waitedMs + drained.waitedMs)}`);
  }
  if (nginx.url) await probeThroughNginx(nginx.url, nginx.tls, out, untilMs);
}

/** One GET through nginx after the switch; over https with health.tls's rules (verified unless loopback). */
async function probeThroughNginx(url: string, tls: TlsSettings | undefined, out: HookOutput, untilMs: number) {
  out.begin(`Probing ${url} through nginx`);
  const answer = await probeOnce(url, Math.max(1000, Math.min(5000, untilMs - Date.now())), () => null, tls);
  const ok = answer.error === null && answer.status !== null && answer.status >= 200 && answer.status < 300;
  if (ok) return;
  // No answer at all (TLS, refused, timeout) is named as what happened; an answer is named by its status.
  const what = answer.error !== null ? `: ${answer.error}` : ` answered HTTP ${answer.status}`;
  const context = { url, status: answer.status ?? undefined };
  throw new HookError('NGINX_FAILED', `probe through nginx failed: ${url}${what}`, context);
}

async function restoreInclude(nginx: NginxConfig, previous: string, untilMs: number): Promise<void> {
  // There was no include before this switch: remove ours rather than leave the unverified one in place.
  if (previous === '') fs.rmSync(nginx.include, { force: true });
  else writeFileAtomic(nginx.include, previous);
  // Best effort: the verdict reports the first failure; a reload that fails again leaves nginx on its old config anyway.
  if (!('problem' in readNginxMaster(nginx.pidFile))) await runCommand(nginx.reload, Math.max(1000, Math.min(10_000, untilMs - Date.now())));
}

function succeeded(result: CommandResult): boolean {
  return result.error === null && result.code === 0;
}

function commandError(argv: string[], result: CommandResult, what: string): HookError {
  const lines = result.output.split('\n').filter((l) => l.trim() !== '');
  const said = result.error ?? lines.find((l) => /emerg|error|crit|alert/.test(l)) ?? lines[0] ?? `exit code ${result.code}`;
  return new HookError('NGINX_FAILED', `${formatArgv(argv)} ${what}: ${said}`, { evidence: lines.slice(-10) });
}
