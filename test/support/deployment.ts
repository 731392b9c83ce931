import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { hookArgv } from './hooks.ts';

/** The fixture app every hook test deploys. */
export const FixtureApp = path.resolve(import.meta.dirname, '../fixtures/app.mjs');

/** How a test revision differs from the defaults. */
export interface RevisionOptions {
  ports: number[];
  /** Extra flags for the fixture app (--stop-delay=8000, --health=500, …). */
  appFlags?: string[];
  versionTag?: string;
  /** Shared between revisions of one app, as /var/lib/portproof is on a host. */
  stateDir: string;
  nginx?: Record<string, unknown>;
  health?: Record<string, unknown>;
  stop?: Record<string, unknown>;
  start?: Record<string, unknown>;
  app?: Record<string, unknown>;
  /** appspec.yml timeouts in seconds per event. */
  timeouts?: Partial<Record<'ApplicationStop' | 'ApplicationStart' | 'ValidateService', number>>;
  /** Run the compiled hooks from this directory instead of hooks/ (the benchmarks compare two builds). */
  hooksDir?: string;
}

/** What a hook run printed and how it ended. */
export interface HookRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
  verdict: string;
  durationMs: number;
}

/** Extra arguments, environment and identity for one hook run; onSpawn gets the hook's PID. */
export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  onSpawn?: (pid: number) => void;
}

/** A revision directory as CodeDeploy unpacks it: appspec.yml and portproof.yml. */
export interface Revision {
  dir: string;
  configPath: string;
  run(hook: 'stop' | 'start' | 'validate', options?: RunOptions): Promise<HookRun>;
}

const events = { stop: 'ApplicationStop', start: 'ApplicationStart', validate: 'ValidateService' } as const;

/** Write a revision (bundle) directory for the fixture app and a runner for its hooks with CodeDeploy's environment. */
export function makeRevision(options: RevisionOptions, deploymentId = `d-${Math.random().toString(36).slice(2, 11).toUpperCase()}`): Revision {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-rev-'));
  const config = {
    app: {
      name: 'fixture',
      command: [process.execPath, FixtureApp, '--port={port}', `--version-tag=${options.versionTag ?? 'v1'}`, ...(options.appFlags ?? [])],
      ...options.app,
    },
    ports: options.ports,
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '200ms', timeout: '10s', requestTimeout: '2s', ...options.health },
    stop: { grace: '15s', ...options.stop },
    start: { timeout: '10s', ...options.start },
    ...(options.nginx ? { nginx: options.nginx } : {}),
    stateDir: options.stateDir,
  };
  const configPath = path.join(dir, 'portproof.yml');
  fs.writeFileSync(configPath, stringify(config));
  const hooks = Object.fromEntries(
    Object.entries(events).map(([name, event]) => [event, [{ location: `hooks/${name}`, timeout: options.timeouts?.[event] ?? 300, runas: 'root' }]]),
  );
  fs.writeFileSync(path.join(dir, 'appspec.yml'), stringify({ version: 0.0, os: 'linux', hooks }));
  return {
    dir,
    configPath,
    run: (hook, runOptions = {}) =>
      runHookProcess(options.hooksDir ? [path.join(options.hooksDir, hook)] : hookArgv(hook), runOptions.args ?? [], {
        ...process.env,
        PORTPROOF_BUNDLE_ROOT: dir,
        LIFECYCLE_EVENT: events[hook],
        DEPLOYMENT_ID: deploymentId,
        APPLICATION_NAME: 'fixture',
        DEPLOYMENT_GROUP_NAME: 'test',
        DEPLOYMENT_GROUP_ID: 'g-1',
        ...runOptions.env,
      }, runOptions),
  };
}

/** Run a hook as the CodeDeploy agent does: no shell, stdout and stderr as pipes, waiting for both to close. */
export function runHookProcess(argv: string[], args: string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): Promise<HookRun> {
  const startedAt = Date.now();
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, [...argv.slice(1), ...args], { env, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    // 'close' fires only when both pipes are closed: a hook that leaks them to the app would hang here.
    child.on('close', (code) => {
      const lines = stdout.split('\n').filter((l) => l !== '');
      resolve({ code, stdout, stderr, lines, verdict: lines.at(-1) ?? '', durationMs: Date.now() - startedAt });
    });
  });
}
