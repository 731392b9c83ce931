import { spawn, type ChildProcess } from 'node:child_process';
import { pollUntil } from './net.ts';

// Processes the lab starts (apps, fixtures): each the leader of its own session, tracked so stopAll ends them all.

const OutputLimit = 64 * 1024;
/** The longest stopAll waits for one SIGKILLed leader to be reaped. */
const StopWaitMs = 5000;

/** How a spawned process ended. */
export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned process: the leader of its own process group, with its output captured. */
export interface AppProcess {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout then stderr, for failure messages. */
  output(): string;
  /** null while it runs. */
  exit(): AppExit | null;
  exited: Promise<AppExit>;
}

const spawned = new Set<AppProcess>();

/** Spawn an argv (no shell) in a new session, as portproof starts apps, and track it for stopAll. */
export function spawnTracked(argv: string[], env: NodeJS.ProcessEnv = process.env): AppProcess {
  const child = spawn(argv[0]!, argv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot spawn ${argv.join(' ')}`);
  let out = '';
  let err = '';
  let ended: AppExit | null = null;
  child.stdout!.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-OutputLimit)));
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-OutputLimit)));
  const exited = new Promise<AppExit>((resolve) =>
    child.on('exit', (code, signal) => {
      ended = { code, signal };
      resolve(ended);
    }),
  );
  const app: AppProcess = {
    pid: child.pid,
    child,
    stdout: () => out,
    stderr: () => err,
    output: () => out + err,
    exit: () => ended,
    exited,
  };
  spawned.add(app);
  return app;
}

/** Resolve with how the process ended; reject after timeoutMs with its output. */
export async function waitForExit(app: AppProcess, timeoutMs: number): Promise<AppExit> {
  await pollUntil(() => app.exit() !== null, timeoutMs, `PID ${app.pid} to exit`).catch((error: Error) => {
    throw new Error(`${error.message}; its output:\n${app.output()}`);
  });
  return app.exit()!;
}

/** SIGKILL every process group spawned here and wait for each leader to exit. */
export async function stopAll(): Promise<void> {
  const apps = [...spawned];
  spawned.clear();
  for (const app of apps) {
    try {
      process.kill(-app.pid, 'SIGKILL');
    } catch {
      // The group already ended on its own.
    }
  }
  // Each leader is waited for until it has exited (SIGKILL takes effect at its next schedule), at most StopWaitMs;
  // one that is still there then (a zombie nobody reaps) is left to the kernel rather than failing the clean-up.
  await Promise.all(apps.map((app) => waitForExit(app, StopWaitMs).catch(() => undefined)));
}
