import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { findEntry, type HookEntry } from '../core/events.ts';
import { agentEnv, type AgentIdentity, type HookRun } from './agent.ts';

// A stand-in for the CodeDeploy agent 2 (the Rust rewrite) on the points that reach a hook: the hook runs from the
// revision's own hooks/ (no variable tells it the bundle), its environment may be cut to the documented variables
// plus PATH/HOME/USER, local deployment IDs are `local-<pid>`, a hook past its timeout gets SIGTERM to its process
// group and SIGKILL 5 s later, and scripts.log lines carry a timestamp with ANSI stripped.

/** Agent 2 sends SIGKILL this long after the SIGTERM of a timeout. */
export const Agent2KillAfterMs = 5000;

/** The only variables agent 2 passes with restrict_hook_env_to_allowlist, besides its own. */
const AllowedBaseVariables = ['PATH', 'HOME', 'USER'];

/** How agent 2 ran a hook: what the agent 1.8 runner reports, and what its timeout did. */
export interface Agent2Run extends HookRun {
  /** When the agent sent SIGTERM (its timeout, or `terminateWhen`), ms after the spawn; null if it never had to. */
  termAfterMs: number | null;
  /** True when the hook was still running 5 s after SIGTERM and the agent sent SIGKILL. */
  killed: boolean;
  /** The lines agent 2 writes to scripts.log for this hook. */
  scriptsLog: string[];
}

/** One hook run by agent 2. */
export interface Agent2Options {
  /** The appspec timeout in seconds for this hook. */
  timeoutSeconds: number;
  /** restrict_hook_env_to_allowlist: only the agent's variables and PATH/HOME/USER reach the hook. */
  restrictEnv: boolean;
  /** Send the timeout's SIGTERM once this resolves (a stopped deployment, say), then SIGKILL 5 s later. */
  terminateWhen?: (pid: number) => Promise<void>;
  /** An argv prefix the hook runs through (nsenter into a container, for one); default none. */
  launcher?: string[];
  /** The agent's unit stopping: systemd's SIGTERM to the cgroup and the agent's to the group, 1 ms apart. */
  twice?: boolean;
  /** The hook's argv instead of `<revision>/hooks/<hook>` (a hook run from source). */
  argv?: string[];
}

/** A deployment ID as agent 2 names a local deployment. */
export function localDeploymentId(pid = process.pid): string {
  return `local-${pid}`;
}

/** The environment agent 2 gives a hook. */
export function agent2Env(who: AgentIdentity, restrict: boolean, base: NodeJS.ProcessEnv = process.env) {
  if (!restrict) return agentEnv(who, base);
  const kept = Object.fromEntries(AllowedBaseVariables.flatMap((name) => (base[name] ? [[name, base[name]]] : [])));
  return agentEnv(who, kept);
}

/** Run `<revision>/hooks/<hook>` as agent 2 does, from the agent's own working directory. */
export function runHookAsAgent2(
  revisionDir: string,
  hook: HookEntry,
  who: Omit<AgentIdentity, 'event'>,
  options: Agent2Options,
): Promise<Agent2Run> {
  const event = findEntry(hook).event;
  const env = agent2Env({ ...who, event }, options.restrictEnv);
  // A hook run from source is not inside the revision: it is told where the bundle is.
  if (options.argv) env.PORTPROOF_BUNDLE_ROOT = revisionDir;
  const startedAt = Date.now();
  const [program, ...args] = [
    ...(options.launcher ?? []),
    ...(options.argv ?? [path.join(revisionDir, 'hooks', hook)]),
  ];
  const child = spawn(program!, args, {
    env,
    cwd: '/',
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let termAfterMs: number | null = null;
  let killed = false;
  let closed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (closed || termAfterMs !== null) return;
    termAfterMs = Date.now() - startedAt;
    signalGroup(child.pid!, 'SIGTERM');
    if (options.twice) setTimeout(() => signalGroup(child.pid!, 'SIGTERM'), 1);
    killTimer = setTimeout(() => {
      killed = true;
      signalGroup(child.pid!, 'SIGKILL');
    }, Agent2KillAfterMs);
  };
  const timeout = setTimeout(terminate, options.timeoutSeconds * 1000);
  void options.terminateWhen?.(child.pid!).then(terminate);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // Like agent 1.8, it waits for both pipes to close.
    child.on('close', (code) => {
      closed = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      const lines = stdout.split('\n').filter((l) => l !== '');
      const scriptsLog = [
        ...lines.map((l) => `[stdout]${l}`),
        ...stderr
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => `[stderr]${l}`),
      ].map((l) => `${new Date().toISOString()} ${stripAnsi(l)}`);
      const durationMs = Date.now() - startedAt;
      resolve({
        code,
        stdout,
        stderr,
        lines,
        verdict: lines.at(-1) ?? '',
        durationMs,
        termAfterMs,
        killed,
        scriptsLog,
      });
    });
  });
}

/**
 * A RESTART deployment (agent 2.1): the last successful revision deployed again under a new ID, its archive made of
 * hard links to the previous one's files. Returns the new revision's directory, beside the old one.
 */
export function restartRevision(previousDir: string): string {
  const dir = `${previousDir}-restart-${Date.now()}`;
  execFileSync('cp', ['-al', '--', previousDir, dir]);
  return dir;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already: nothing left to signal.
  }
}

function stripAnsi(line: string): string {
  return line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}
