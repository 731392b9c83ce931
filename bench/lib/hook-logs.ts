import fs from 'node:fs';
import path from 'node:path';
import type { HookRun } from '../../src/lab/agent.ts';

// What the hook benches read back after a deployment: the fixture app's own log (when it got SIGTERM, exited, bound)
// and the hooks' hooks.log (when the stop saw the port free, how long validate settled), both in <stateDir>/<app>.

/** One wall time and the part of it that was the app's own work (shutdown, binding, the settle wait). */
export type Sample = { wall: number; appWork: number };

/** The fixture app's log lines of one version: [epoch ms, message]. */
export function appLog(appDir: string, port: number, version: string): Array<[number, string]> {
  const text = fs.readFileSync(path.join(appDir, `app-${port}.log`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.includes(`[fixture ${version}]`))
    .map((line) => [Date.parse(line.slice(0, 24)), line.slice(line.indexOf(']') + 2)]);
}

/** When the app logged a message starting with `prefix`. */
export function at(lines: Array<[number, string]>, prefix: string): number {
  const found = lines.find(([, message]) => message.startsWith(prefix));
  if (!found) throw new Error(`the fixture app never logged "${prefix}"`);
  return found[0];
}

/** How long the app says it took to bind ("Started on port … in N ms"): NaN when it never said. */
export function bindMs(lines: Array<[number, string]>): number {
  const bound = lines.find(([, m]) => m.startsWith('Started on port'));
  return Number(/ in (\d+(?:\.\d+)?) ms/.exec(bound?.[1] ?? '')?.[1] ?? Number.NaN);
}

/** The hooks.log entry `event` wrote with message `msg` for this deployment. */
export function findLogEntry(
  appDir: string,
  deploymentId: string,
  event: string,
  msg: string,
): Record<string, unknown> {
  const entries = fs
    .readFileSync(path.join(appDir, 'hooks.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const entry = entries.find((e) => e.msg === msg && e.deploymentId === deploymentId && e.lifecycleEvent === event);
  if (!entry) throw new Error(`no '${msg}' entry for ${deploymentId} in hooks.log`);
  return entry;
}

/** When the stop hook logged 'port free' for this deployment (the log's ISO time, as epoch ms). */
export function portFreeAt(appDir: string, deploymentId: string): number {
  return Date.parse(String(findLogEntry(appDir, deploymentId, 'ApplicationStop', 'port free').time));
}

/** How long ValidateService waited in health.settle for this deployment (a release before the settle logs none). */
export function settledMs(appDir: string, deploymentId: string): number {
  return Number(findLogEntry(appDir, deploymentId, 'ValidateService', 'verified').settledMs ?? 0);
}

/** The run, when it succeeded; otherwise an error with its verdict and output's end. */
export function ok(run: HookRun, what: string): HookRun {
  if (run.code !== 0) throw new Error(`${what} failed: ${run.verdict}\n${run.stdout.slice(-1500)}`);
  return run;
}
