import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

import { pollUntil } from '../../src/rehearsal/net.ts';

export { canConnect, pollUntil, waitForPort, waitForPortFree } from '../../src/rehearsal/net.ts';

/** The Node fixture app with the fault table's failure modes. */
export const FixtureAppPath = path.resolve(import.meta.dirname, '../fixtures/app.mjs');
/** The python fixture that binds with SO_REUSEPORT. */
export const ReuseportAppPath = path.resolve(import.meta.dirname, '../fixtures/reuseport-app.py');

const OutputLimit = 64 * 1024;

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
  const exited = new Promise<AppExit>((resolve) => child.on('exit', (code, signal) => resolve((ended = { code, signal }))));
  const app: AppProcess = { pid: child.pid, child, stdout: () => out, stderr: () => err, output: () => out + err, exit: () => ended, exited };
  spawned.add(app);
  return app;
}

/** Start the fixture app with the given flags (`--port=N`, `--stop-delay=8000`, …). */
export function startApp(args: string[], env?: NodeJS.ProcessEnv): AppProcess {
  return spawnTracked([process.execPath, FixtureAppPath, ...args], env);
}

/** Start the SO_REUSEPORT python fixture (`--port=N`, `--version-tag=v`). */
export function startReuseportApp(args: string[]): AppProcess {
  return spawnTracked(['python3', ReuseportAppPath, ...args]);
}

/** Resolve with how the process ended; reject after timeoutMs with its output. */
export async function waitForExit(app: AppProcess, timeoutMs: number): Promise<AppExit> {
  await pollUntil(() => app.exit() !== null, timeoutMs, `PID ${app.pid} to exit`).catch((error: Error) => {
    throw new Error(`${error.message}; its output:\n${app.output()}`);
  });
  return app.exit()!;
}

/** Whether any process of the group led by pgid is still there (zombies included). */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    // ESRCH: the whole group is gone.
    return false;
  }
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
  await Promise.all(apps.map((app) => Promise.race([app.exited, new Promise((resolve) => setTimeout(resolve, 5000))])));
}

/** A response read whole. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET a URL on a fresh connection; reject on connection errors or after timeoutMs. */
export function httpGet(url: string, timeoutMs = 2000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`GET ${url} timed out after ${timeoutMs} ms`), { code: 'TIMEOUT' })));
    req.on('error', reject);
  });
}
