import { formatDuration } from '../config/duration.ts';
import { HookError } from '../errors.ts';
import type { HookOutput } from '../hook/output.ts';
import { checkTreeOwnsPort, findListeners, listTreeListenSockets } from '../procfs/index.ts';
import { pollUntil } from '../wait.ts';
import { describeProcess } from './describe.ts';
import { exitedAtStartError, type LaunchedApp } from './launch.ts';
import { readLogTail } from './log-tail.ts';
import { signalProcess } from './signal.ts';

/** How long the start hook gives a process it started, and gave up on, to exit before SIGKILL. */
export const AbandonGraceMs = 3000;

/**
 * Wait until the new process tree listens on `port`, resolving with the time from its spawn to that moment. Fails early
 * when the process exits (exit code or signal, its log), or at `untilMs` naming what it listens on instead and who
 * holds the port; a process given up on is stopped.
 */
export async function waitForBind(app: LaunchedApp, port: number, untilMs: number, out: HookOutput): Promise<number> {
  const startedAt = Date.now();
  const root = { pid: app.info.pid, startTime: app.info.startTime, bootId: app.bootId };
  out.begin(`Waiting for PID ${app.info.pid} to listen on port ${port}`);
  const result = await pollUntil(
    () => {
      if (app.exited()) return 'exited' as const;
      const ownership = checkTreeOwnsPort(root, port);
      const treePids = new Set(ownership.tree.map((p) => p.pid));
      return ownership.listeners.some((l) => l.owners.some((o) => treePids.has(o.pid))) ? ('bound' as const) : undefined;
    },
    untilMs,
    { onTick: () => out.progress(startedAt, untilMs) },
  );
  if (result.done && result.value === 'bound') return Date.now() - app.spawnedAt;
  if (result.done) throw exitedAtStartError(app.argv, port, app.exited(), app.logFile, app.logOffset, app.info.pid);
  throw await abandon(app, port, result.waitedMs, out);
}

async function abandon(app: LaunchedApp, port: number, waitedMs: number, out: HookOutput): Promise<HookError> {
  const root = { pid: app.info.pid, startTime: app.info.startTime, bootId: app.bootId };
  const elsewhere = listTreeListenSockets(root).map((s) => `${s.localAddress}:${s.localPort}`);
  const holders = findListeners(port).listeners.flatMap((l) => l.owners).map(describeProcess);
  const listens = elsewhere.length > 0 ? `it listens on ${elsewhere.join(', ')} instead` : 'it listens on no TCP port';
  const held = holders.length > 0 ? `; port ${port} is held by ${holders.join(', ')}` : '';
  const evidence = readLogTail(app.logFile, app.logOffset);
  out.say(`Stopping PID ${app.info.pid}: it did not bind in time`);
  signalProcess(app.info, 'SIGTERM', true);
  const gone = await pollUntil(() => (app.exited() ? true : undefined), Date.now() + AbandonGraceMs);
  if (!gone.done) signalProcess(app.info, 'SIGKILL', true);
  return new HookError(
    'START_TIMEOUT',
    `new PID ${app.info.pid} is running but did not listen on port ${port} within ${formatDuration(waitedMs)}: ${listens}${held}`,
    { port, pid: app.info.pid, durationMs: waitedMs, evidence: evidence.length > 0 ? [`last lines of ${app.logFile}:`, ...evidence.map((l) => `  ${l}`)] : [] },
  );
}
