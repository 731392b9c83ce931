import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HookRun } from './agent.ts';
import { pollUntil } from './net.ts';
import { isRunning } from './nginx.ts';
import { createMachineCgroups, removeMachineCgroups } from './machine-cgroup.ts';

// A real systemd as PID 1, booted by systemd-nspawn from this machine's own root (only /usr comes from the host,
// the rest is a fresh tmpfs), for the supervision tests. Commands run inside through nsenter.

/** The message a test fails with when systemd-nspawn is missing: the systemd tests never skip. */
export const NspawnMissing =
  'systemd-nspawn not found: install it with "apt-get install -y systemd-container" (the systemd tests boot one)';

const BootTimeoutMs = 90_000;
const PoweroffTimeoutMs = 30_000;
const KillWaitMs = 10_000;
const ExecTimeoutMs = 120_000;
/** A hook run inside gives up before vitest's own test timeout, so the failure says what was running. */
const HookTimeoutMs = 45_000;
const ConsoleTailLines = 25;
/** The PATH commands see inside: the container's own (a fresh /etc has no profile to set one). */
const ContainerPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Units masked in the bound unit directory: the network never comes up in a private namespace (the boot would wait
 * for it), and the bound read-only machine-id cannot be committed.
 */
const MaskedUnits = ['systemd-networkd-wait-online.service', 'systemd-machine-id-commit.service'];

/** A host path seen inside the container: at `container` (default: the same path), read-only or writable. */
export interface Bind {
  host: string;
  container?: string;
  readOnly?: boolean;
}

/** How a command inside ended, with its output. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment (on top of PATH) and stdin for a command inside. */
export interface ExecOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** The working directory inside (default: /). */
  cwd?: string;
}

/** A booted container: PID 1 is systemd. */
export interface Container {
  name: string;
  /** The host directory bound over /etc/systemd/system: units and their enablement survive a reboot. */
  unitDir: string;
  /** The container's PID 1 as the host sees it (changes with each boot). */
  pid(): number;
  /** The systemd-nspawn process of the current boot. */
  nspawnPid(): number;
  /** The host cgroup directories of the current boot (one per systemd hierarchy), its own alone. */
  cgroupDirs(): string[];
  /** Run an argv inside every namespace of the container (no shell). */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  systemctl(...args: string[]): Promise<ExecResult>;
  /**
   * Run a hook as the CodeDeploy agent's cgroup does: inside a transient unit with systemd's default
   * KillMode=control-group, so whatever the hook leaves in its cgroup is killed when the hook's unit ends.
   */
  runHookAsAgent(hook: string | string[], env?: Record<string, string>, options?: AgentOptions): Promise<HookRun>;
  /** The argv prefix that runs a command inside (for a process the caller spawns and talks to itself). */
  enterArgv(): string[];
  /** Power off, then boot again with the same binds, unit directory and machine-id. */
  reboot(): Promise<void>;
  /** Power off for good (SIGKILL when it hangs) and remove the kit's own directory: call from afterAll. */
  poweroff(): Promise<void>;
}

/** How the agent-like unit ends: KillMode=process is the agent unit change proposed upstream and not merged. */
export interface AgentOptions {
  killMode?: 'control-group' | 'process';
  /** Default 45 s: before vitest's one-minute test timeout. */
  timeoutMs?: number;
}

/** What boots a container. */
export interface BootOptions {
  /** The machine name's prefix (letters, digits, dashes). */
  name: string;
  binds?: Bind[];
  /** How long a poweroff may take before systemd-nspawn and PID 1 are killed; default 30 s. */
  poweroffTimeoutMs?: number;
}

/** One boot: the systemd-nspawn process and its console output. */
interface Boot {
  nspawn: ChildProcess;
  /** The machine's own cgroups (see machine-cgroup.ts), removed after it stopped. */
  cgroups: string[];
  pid1: number;
  exited: Promise<void>;
  consoleLog: string;
}

let machines = 0;

/** Boot a container from / with a fresh tmpfs root, the binds given, and a unit directory of its own. */
export async function bootContainer(options: BootOptions): Promise<Container> {
  const nspawnBin = findNspawn();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `portproof-nspawn-${options.name}-`));
  const unitDir = path.join(home, 'units');
  fs.mkdirSync(unitDir);
  for (const unit of MaskedUnits) fs.symlinkSync('/dev/null', path.join(unitDir, unit));
  // A machine-id of its own makes every boot a later boot, not a first one: no preset-all enabling the host's
  // nginx, postgresql, … into the bound unit directory, so the container boots lean.
  const machineId = path.join(home, 'machine-id');
  fs.writeFileSync(machineId, `${randomHex(16)}\n`);
  // Unique on this host (machine names and cgroups are per name): the test process and a count within it.
  machines += 1;
  const name = `${options.name}-${process.pid}-${machines}`.slice(0, 60);
  const args = [
    '-D',
    '/',
    '--volatile=yes',
    '--private-network',
    '--register=no',
    '--keep-unit',
    '-b',
    '--console=pipe',
    '-M',
    name,
    `--bind=${unitDir}:/etc/systemd/system`,
    `--bind-ro=${machineId}:/etc/machine-id`,
    '--bind-ro=/etc/passwd',
    '--bind-ro=/etc/group',
    ...(options.binds ?? []).map(renderBind),
  ];
  const poweroffTimeoutMs = options.poweroffTimeoutMs ?? PoweroffTimeoutMs;
  let boot: Boot;
  try {
    boot = await startBoot(nspawnBin, args, path.join(home, 'console-1.log'), name);
  } catch (error) {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  }
  let boots = 1;
  let off = false;

  const exec = (argv: string[], opts: ExecOptions = {}): Promise<ExecResult> => execIn(boot.pid1, argv, opts);
  const container: Container = {
    name,
    unitDir,
    pid: () => boot.pid1,
    nspawnPid: () => boot.nspawn.pid!,
    cgroupDirs: () => boot.cgroups,
    exec,
    systemctl: (...args2) => exec(['systemctl', ...args2]),
    runHookAsAgent: (hook, env = {}, agent = {}) => runHookAsAgent(exec, hook, env, agent),
    enterArgv: () => enterArgv(boot.pid1),
    reboot: async () => {
      await shutDown(boot, exec, poweroffTimeoutMs);
      boots += 1;
      boot = await startBoot(nspawnBin, args, path.join(home, `console-${boots}.log`), name);
    },
    poweroff: async () => {
      if (off) return;
      off = true;
      await shutDown(boot, exec, poweroffTimeoutMs);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  return container;
}

/** systemd-nspawn from PATH or /usr/bin; throws the install hint when there is none. */
export function findNspawn(searchPath = process.env.PATH ?? '', fallbacks = ['/usr/bin']): string {
  const dirs = [...searchPath.split(':').filter((dir) => dir !== ''), ...fallbacks];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'systemd-nspawn');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: try the next one.
    }
  }
  throw new Error(NspawnMissing);
}

function renderBind(bind: Bind): string {
  return `--bind${bind.readOnly ? '-ro' : ''}=${bind.host}:${bind.container ?? bind.host}`;
}

function randomHex(bytes: number): string {
  return Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

/** Start systemd-nspawn and wait until systemd inside says running or degraded. */
async function startBoot(nspawnBin: string, args: string[], consoleLog: string, name: string): Promise<Boot> {
  const cgroups = createMachineCgroups(`portproof-machine-${name}`);
  const out = fs.openSync(consoleLog, 'w');
  // The shell joins the machine's cgroups, then becomes systemd-nspawn, which keeps (--keep-unit) the cgroup it is in.
  const join = 'for dir in $MACHINE_CGROUPS; do echo $$ > "$dir/cgroup.procs"; done; exec "$@"';
  const nspawn = spawn('/bin/sh', ['-c', join, 'sh', nspawnBin, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, MACHINE_CGROUPS: cgroups.join(' ') },
  });
  fs.closeSync(out);
  let gone = false;
  const boot: Boot = { nspawn, cgroups, pid1: 0, exited: Promise.resolve(), consoleLog };
  // A test process that dies without its afterAll (a crash, vitest's own timeout) must not leave a machine running.
  const killOnExit = (): void => killQuietly([boot.pid1, nspawn.pid]);
  process.once('exit', killOnExit);
  boot.exited = new Promise<void>((resolve) =>
    nspawn.on('exit', () => {
      gone = true;
      process.off('exit', killOnExit);
      removeMachineCgroups(cgroups);
      resolve();
    }),
  );
  try {
    await pollUntil(
      async () => {
        if (gone) throw new Error(`systemd-nspawn exited during boot (code ${nspawn.exitCode})`);
        boot.pid1 = findPid1(nspawn.pid!) ?? 0;
        if (boot.pid1 === 0) return false;
        const state = await execIn(boot.pid1, ['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
        // starting, initializing, offline (PID 1 not yet systemd): not yet. degraded: a unit failed, which a lean
        // boot from the host's root may leave (the host's units expect a real /var).
        return ['running', 'degraded'].includes(state.stdout.trim());
      },
      BootTimeoutMs,
      'systemd in the container to reach running or degraded',
    );
  } catch (error) {
    await killBoot(boot);
    throw new Error(`${(error as Error).message}\n${tailFile(consoleLog)}`);
  }
  return boot;
}

/**
 * The container's PID 1: systemd-nspawn's child in another PID namespace whose command is systemd (nspawn's short-lived
 * outer child, or the inner one before it executes systemd, is not yet).
 */
function findPid1(nspawnPid: number): number | null {
  const ownNs = fs.readlinkSync('/proc/self/ns/pid');
  let children: string[];
  try {
    children = fs.readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    // systemd-nspawn is gone: the caller notices its exit.
    return null;
  }
  for (const child of children.filter((c) => c !== '')) {
    try {
      if (fs.readlinkSync(`/proc/${child}/ns/pid`) === ownNs) continue;
      if (fs.readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd') return Number(child);
    } catch {
      // The child vanished between the listing and the read (the outer child exits): look again next poll.
    }
  }
  return null;
}

/** Ask systemd to power off, wait for systemd-nspawn to exit, and kill it when it does not in time. */
async function shutDown(
  boot: Boot,
  exec: (argv: string[], opts?: ExecOptions) => Promise<ExecResult>,
  timeoutMs: number,
): Promise<void> {
  if (boot.nspawn.exitCode !== null || boot.nspawn.signalCode !== null) return;
  // --no-block: the bus connection dies with the container, so a blocking call reports a reset while it succeeds.
  await exec(['systemctl', 'poweroff', '--no-block'], { timeoutMs: 10_000 }).catch(() => undefined);
  const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), timeoutMs).unref());
  if ((await Promise.race([boot.exited, late])) === 'late') await killBoot(boot);
}

/** SIGKILL systemd-nspawn and the container's PID 1 (which takes every process in its PID namespace with it). */
async function killBoot(boot: Boot): Promise<void> {
  killQuietly([boot.pid1, boot.nspawn.pid]);
  const late = new Promise<void>((resolve) => setTimeout(resolve, KillWaitMs).unref());
  await Promise.race([boot.exited, late]);
  // A killed PID 1 exits only after the kernel has killed and reaped the rest of its namespace.
  if (boot.pid1 !== 0) await pollUntil(() => !isRunning(boot.pid1), KillWaitMs, `PID ${boot.pid1} to exit`);
  // systemd-nspawn's exit came first, while the machine's cgroups still held its processes: removed now.
  removeMachineCgroups(boot.cgroups);
}

/** nsenter into every namespace of the container's PID 1. */
function enterArgv(pid1: number): string[] {
  return ['nsenter', '-t', String(pid1), '-a'];
}

function killQuietly(pids: (number | undefined)[]): void {
  for (const pid of pids) {
    if (pid === undefined || pid === 0) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Run an argv in all of PID 1's namespaces with a clean environment; resolve with its exit code and output. */
function execIn(pid1: number, argv: string[], options: ExecOptions): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? ExecTimeoutMs;
  const env = { PATH: ContainerPath, LANG: 'C.UTF-8', ...options.env };
  return new Promise((resolve, reject) => {
    const wd = options.cwd === undefined ? [] : [`--wdns=${options.cwd}`];
    const child = spawn('nsenter', [...enterArgv(pid1).slice(1), ...wd, ...argv], {
      env,
      cwd: '/',
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    if (options.input !== undefined) child.stdin!.end(options.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} (in the container) timed out after ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** systemd-run --wait --pipe: the hook's exit code and output come back; its unit, cgroup and leftovers end with it. */
async function runHookAsAgent(
  exec: (argv: string[], opts?: ExecOptions) => Promise<ExecResult>,
  hook: string | string[],
  env: Record<string, string>,
  agent: AgentOptions,
): Promise<HookRun> {
  const startedAt = Date.now();
  const argv = [
    'systemd-run',
    '--wait',
    '--collect',
    '--pipe',
    '--quiet',
    '-p',
    `KillMode=${agent.killMode ?? 'control-group'}`,
    ...Object.entries(env).map(([key, value]) => `--setenv=${key}=${value}`),
    ...(typeof hook === 'string' ? [hook] : hook),
  ];
  const { code, stdout, stderr } = await exec(argv, { timeoutMs: agent.timeoutMs ?? HookTimeoutMs }).catch(
    async (error: Error) => {
      // What ran inside when the hook hung: the process tree and the journal's last lines.
      const ps = await exec(['ps', 'axfo', 'pid,stat,etime,cmd'], { timeoutMs: 10_000 }).catch(() => null);
      const journal = await exec(['journalctl', '--no-pager', '-n', '30'], { timeoutMs: 10_000 }).catch(() => null);
      throw new Error(`${error.message}\nprocesses:\n${ps?.stdout ?? ''}\njournal:\n${journal?.stdout ?? ''}`);
    },
  );
  const lines = stdout.split('\n').filter((l) => l !== '');
  return { code, stdout, stderr, lines, verdict: lines.at(-1) ?? '', durationMs: Date.now() - startedAt };
}

function tailFile(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').slice(-ConsoleTailLines);
    return `container console (${file}):\n${lines.join('\n')}`;
  } catch {
    // systemd-nspawn failed before it wrote anything.
    return '';
  }
}
