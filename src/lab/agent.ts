import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { findEntry, type HookEntry, type LifecycleEvent } from '../core/events.ts';

/** What a hook run printed and how it ended. */
export interface HookRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's non-empty lines. */
  lines: string[];
  /** stdout's last line: the verdict. */
  verdict: string;
  durationMs: number;
}

/** Extra arguments, environment, identity and directory for one hook run; onSpawn gets the hook's PID. */
export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Default: the temp directory (the agent's cwd is no revision's). */
  cwd?: string;
  onSpawn?: (pid: number) => void;
  /** A hang guard, default 120 s: past it the hook is killed and the run rejected with what it printed so far. */
  hangMs?: number;
}

/** A hook the guard ended: no hook of the suite runs this long, so one that does has hung. */
const DefaultHangMs = 120_000;

/** Who a deployment is, as the CodeDeploy agent tells a hook through its environment. */
export interface AgentIdentity {
  event: LifecycleEvent;
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
}

/** The variables the CodeDeploy agent sets for a hook, on top of `base`. */
export function agentEnv(who: AgentIdentity, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    LIFECYCLE_EVENT: who.event,
    DEPLOYMENT_ID: who.deploymentId,
    APPLICATION_NAME: who.applicationName,
    DEPLOYMENT_GROUP_NAME: who.groupName,
    DEPLOYMENT_GROUP_ID: who.groupId,
  };
}

/** Run a hook as the CodeDeploy agent does: no shell, stdout and stderr as pipes, waiting for both to close. */
export function runHookProcess(
  argv: string[],
  args: string[],
  env: NodeJS.ProcessEnv,
  options: RunOptions = {},
): Promise<HookRun> {
  const startedAt = Date.now();
  const hangMs = options.hangMs ?? DefaultHangMs;
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid };
  return new Promise((resolve, reject) => {
    const cwd = options.cwd ?? os.tmpdir();
    const child = spawn(argv[0]!, [...argv.slice(1), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    // Named where it hung: still running (its progress lines say at which step), or exited with its pipes held open.
    const guard = setTimeout(() => {
      const state =
        exited === undefined ? 'still running' : `exited with code ${exited}, its stdout or stderr held open`;
      if (exited === undefined) child.kill('SIGKILL');
      const tail = `${stdout}${stderr}`.trim().split('\n').slice(-8).join('\n');
      reject(new Error(`${argv.join(' ')} ran past ${hangMs} ms (${state}); it printed:\n${tail}`));
    }, hangMs);
    child.on('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    // 'close' fires only when both pipes are closed: a hook that leaks them to the app would hang here.
    child.on('close', (code) => {
      clearTimeout(guard);
      const lines = stdout.split('\n').filter((l) => l !== '');
      resolve({ code, stdout, stderr, lines, verdict: lines.at(-1) ?? '', durationMs: Date.now() - startedAt });
    });
  });
}

/** Who deploys a revision, and which executables run its hooks. */
export interface RevisionRunner {
  /** The argv of a hook: a compiled executable, or `node bin/portproof.js <entry>` from source. */
  hookArgv(entry: HookEntry): string[];
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
}

/** A revision directory as CodeDeploy unpacks it, and its hooks run as the agent runs them. */
export interface Revision {
  dir: string;
  configPath: string;
  run(hook: HookEntry, options?: RunOptions): Promise<HookRun>;
}

/** Run the hooks of the revision in `dir` (PORTPROOF_BUNDLE_ROOT) with CodeDeploy's environment. */
export function openRevision(dir: string, runner: RevisionRunner): Revision {
  return {
    dir,
    configPath: path.join(dir, 'portproof.yml'),
    run: (hook, options = {}) => {
      const env = {
        ...agentEnv({ ...runner, event: findEntry(hook).event }),
        PORTPROOF_BUNDLE_ROOT: dir,
        ...options.env,
      };
      return runHookProcess(runner.hookArgv(hook), options.args ?? [], env, options);
    },
  };
}
