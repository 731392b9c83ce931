import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import type { HookRun } from '../../src/lab/agent.ts';
import { nginxSection as labNginxSection, startNginx, type TestNginx } from '../../src/lab/nginx.ts';
import { findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { makeRevision, type RevisionOptions } from './deployment.ts';
import { measurePace } from './pace.ts';

// Helpers shared by the hook test files: temp state dirs, reading state, liveness, verdict checks, cleanup.

const tempRoots: string[] = [];

export function newStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-state-'));
  fs.chmodSync(dir, 0o755);
  tempRoots.push(dir);
  return dir;
}

export function readState(stateDir: string): {
  processes: Record<string, { pid: number; startTime: number; bootId: string }>;
  lastStarted: number;
} {
  return JSON.parse(fs.readFileSync(path.join(stateDir, 'fixture', 'state.json'), 'utf8'));
}

export function isAlive(pid: number): boolean {
  const info = readProcessInfo(pid);
  return info !== null && info.state !== 'Z';
}

const startedPids = new Set<number>();
export async function stopStartedApps(): Promise<void> {
  for (const pid of startedPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A started app is a detached session leader: remember it so the file cleans up even when a test fails. */
export function remember(stateDir: string, port: number): number {
  const pid = readState(stateDir).processes[String(port)]!.pid;
  startedPids.add(pid);
  return pid;
}

export function expectVerdict(
  run: HookRun,
  event: string,
  outcome: 'OK' | 'FAILED',
  ...parts: (string | RegExp)[]
): void {
  expect(run.verdict, run.stdout).toContain(`portproof ${event} ${outcome}:`);
  for (const part of parts) expect(run.verdict).toMatch(part);
  expect(run.code).toBe(outcome === 'OK' ? 0 : 1);
}

/**
 * The switch's clause in an OK on the lab's nginx (no upstream keep-alive): proved to reach `pid` (N of N), or "not
 * observed" when every upstream connection closed between samples of /proc. Never another PID, never a failure.
 */
export function switchedTo(port: number, pid?: number): RegExp {
  const who = pid === undefined ? '\\d+' : String(pid);
  const reached = `: (\\d+) of \\2 requests through nginx reached PID ${who}`;
  const unseen = " \\(not proved that requests reach it: none of \\d+ requests' upstream connections could be observed";
  return new RegExp(`nginx now → ${port}(${reached}|${unseen})`);
}

/** --check's probe through the lab's nginx: one request reached `pid`, or it could not be observed (see switchedTo). */
export function probedTo(pid: number): RegExp {
  return new RegExp(`^(1 of 1 requests through nginx reached PID ${pid}|not proved: none of \\d+ requests' upstream)`);
}

export async function deployed(options: Omit<RevisionOptions, 'stateDir'> & { stateDir?: string }) {
  const stateDir = options.stateDir ?? newStateDir();
  const revision = makeRevision({ paceMs: await measurePace(), ...options, stateDir });
  tempRoots.push(revision.dir);
  return { stateDir, revision };
}

/** Every app a hook recorded in a state file under `dir`, still alive with the recorded start time: SIGKILL its group. */
function killRecordedApps(dir: string): void {
  const stateFiles = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => path.basename(f) === 'state.json');
  for (const file of stateFiles) {
    let processes: Record<string, { pid: number; startTime: number }> = {};
    try {
      processes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).processes ?? {};
    } catch {
      continue; // A test wrote a corrupt state on purpose.
    }
    for (const { pid, startTime } of Object.values(processes)) {
      if (readProcessInfo(pid)?.startTime !== startTime) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone between the read and the signal.
      }
    }
  }
}

/** Kill every app the hooks started and remove every temp dir: call from afterAll. */
export async function cleanUpHookTests(): Promise<void> {
  await stopStartedApps();
  for (const dir of tempRoots.splice(0)) {
    if (fs.existsSync(dir)) killRecordedApps(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The nginx section of a test revision: the lab's, with a reload timeout short enough for a test; `extra` overrides. */
export function nginxSection(nginx: TestNginx, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return labNginxSection(nginx, { reloadTimeout: '3s', ...extra });
}

/** What a blue/green hook test works with: a private nginx, the two ports, a state dir of its own. */
export interface BlueGreenBed {
  nginx: TestNginx;
  blue: number;
  green: number;
  stateDir: string;
}

/**
 * Before each test: two free ports and a private nginx pointing at green, where nothing listens yet (so the first
 * deployment targets blue), and a fresh state dir, handed to `use`; after each: nginx and every tracked app stopped.
 */
export function useBlueGreenBed(use: (bed: BlueGreenBed) => void): void {
  let nginx: TestNginx | null = null;
  beforeEach(async () => {
    const [listen, blue, green] = await findFreePorts(3);
    nginx = await startNginx({ listenPort: listen!, livePort: green! });
    use({ nginx, blue: blue!, green: green!, stateDir: newStateDir() });
  });
  afterEach(async () => {
    await nginx?.stop();
    await stopAll();
  });
}
