// Which port nginx serves now, from the include and the running master: its workers run the include as written only
// when they started after it was written (a reload lost to a signal leaves older workers on the other port).
import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { DefaultClockTicks, DefaultProcRoot } from '../procfs/boot.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { readInclude } from './include.ts';
import { listWorkers, oldWorkersStoppedAccepting, readNginxMaster } from './master.ts';

type NginxConfig = NonNullable<LoadedConfig['nginx']>;

/** The running nginx as far as the include is concerned. */
export type NginxNow =
  | { running: false; problem: string; includePort: number | null }
  | {
      running: true;
      master: ProcessInfo;
      /** The master's live workers. */
      workers: ProcessInfo[];
      /** The configured port the include names (null: missing, empty or unreadable). */
      includePort: number | null;
      /** Some worker started after the include was last written, and none older still accepts: nginx runs it. */
      runsInclude: boolean;
    };

/** Read the include and the running master, and whether the master's workers run the include as it is now. */
export function readNginxNow(nginx: NginxConfig, ports: readonly number[], procRoot = DefaultProcRoot): NginxNow {
  const reading = safeReadInclude(nginx, ports);
  const includePort = reading.port;
  const running = readNginxMaster(nginx.pidFile);
  if ('problem' in running) return { running: false, problem: running.problem, includePort };
  const workers = listWorkers(running.master);
  const writtenTicks = reading.mtimeMs === null ? null : toBootTicks(reading.mtimeMs, procRoot);
  // No include at all: whatever nginx runs, it does not come from a newer include.
  const newer = workers.filter((w) => writtenTicks === null || w.startTime > writtenTicks);
  const older = new Set(workers.filter((w) => !newer.includes(w)).map((w) => `${w.pid}:${w.startTime}`));
  const runsInclude = newer.length > 0 && oldWorkersStoppedAccepting(running.master, older);
  return { running: true, master: running.master, workers, includePort, runsInclude };
}

/** One clause on what nginx serves now: "nginx serves port 8081 (…)" or why that cannot be told. */
export function describeNginxNow(now: NginxNow, ports: readonly number[]): string {
  if (!now.running) return `${now.problem}: it serves no port`;
  if (now.includePort === null) return `the include names no configured port; nginx master PID ${now.master.pid} runs`;
  if (now.runsInclude)
    return (
      `nginx serves port ${now.includePort} ` +
      `(master PID ${now.master.pid}; its workers started after the include was written)`
    );
  const other = ports.find((p) => p !== now.includePort);
  return (
    `the include names port ${now.includePort} but nginx's workers (master PID ${now.master.pid}) predate it: ` +
    `nginx may still serve port ${other}`
  );
}

/** A wall-clock time (ms) as clock ticks after boot, as /proc/PID/stat counts a process's start. */
function toBootTicks(epochMs: number, procRoot: string): number {
  // /proc/uptime is to 10 ms; btime in /proc/stat only to the second, too coarse next to a reload ms after a write.
  const uptimeSeconds = Number(fs.readFileSync(path.join(procRoot, 'uptime'), 'utf8').split(' ')[0]);
  const bootMs = Date.now() - uptimeSeconds * 1000;
  return Math.floor(((epochMs - bootMs) * DefaultClockTicks) / 1000);
}

function safeReadInclude(
  nginx: NginxConfig,
  ports: readonly number[],
): { port: number | null; mtimeMs: number | null } {
  let mtimeMs: number | null;
  try {
    mtimeMs = fs.statSync(nginx.include).mtimeMs;
  } catch {
    // Missing (a first deployment) or unreadable: either way no include nginx could have loaded after a write.
    return { port: null, mtimeMs: null };
  }
  try {
    const reading = readInclude(nginx.include, nginx.line, ports);
    return { port: reading.kind === 'live' ? reading.port : null, mtimeMs };
  } catch {
    // An include the hooks refuse (unsafe links) says nothing about a port; the refusal is the hooks' to report.
    return { port: null, mtimeMs };
  }
}
