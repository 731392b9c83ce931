import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findEntry, type HookEntry } from '../../src/core/events.ts';
import { parseStat } from '../../src/core/procfs/index.ts';
import { agentEnv, type HookRun } from '../../src/lab/agent.ts';
import { findNginxBin, nginxSection, renderServiceUrl } from '../../src/lab/nginx.ts';
import { pollUntil } from '../../src/lab/net.ts';
import { FixtureAppPath } from './app.ts';
import { makeRevision, type RevisionOptions } from './deployment.ts';
import { hookArgv } from './hooks.ts';
import { bootContainer, type AgentOptions, type Container, type ExecResult } from '../../src/lab/container.ts';
import { BedPorts, NginxUnit, renderNginxUnit, writeNginxPrefix, type BedNginx } from './systemd-nginx.ts';

// The systemd tests' bed: one container per test file with the repository bound read-only at its own path, a
// scratch directory (state, revisions, nginx's prefix) bound at its own path too, and a private nginx that runs as
// an enabled unit of its own, so it comes back after a reboot. Ports are fixed: the network namespace is private.

// The ports and nginx's unit, for the tests.
export { BedPorts, NginxUnit };

const Repo = path.resolve(import.meta.dirname, '../..');
const RequestTimeoutS = 5;

/** A revision in the bed: its directory (inside the bound scratch) and its portproof.yml. */
export interface BedRevision {
  dir: string;
  configPath: string;
}

/** What a revision in the bed may set; the state dir, nginx and the ports default to the bed's. */
export type BedRevisionOptions = Omit<RevisionOptions, 'stateDir' | 'ports' | 'parentDir' | 'hooksDir'> & {
  ports?: number[];
  stateDir?: string;
};

/** An answer through nginx (or from any URL inside the container). */
export interface BedAnswer {
  status: number;
  body: string;
  /** curl's own complaint when there was no answer (connection refused, timeout). */
  error: string;
}

/** The hooks of one deployment, as CodeDeploy runs them: stop from the previous revision, then start and validate. */
export interface DeploymentRuns {
  stop?: HookRun;
  start?: HookRun;
  validate?: HookRun;
  /** The last hook that ran: the one that failed, or validate. */
  last: HookRun;
}

/** A booted container with a private nginx in front of 8081/8082. */
export interface SystemdBed {
  container: Container;
  scratch: string;
  /** This test's state dir (reset() makes a fresh one). */
  stateDir: string;
  includePath: string;
  /** A revision of the fixture app under scratch, with the compiled hooks linked into its hooks/. */
  revision(options?: BedRevisionOptions): BedRevision;
  /** Run one hook of a revision inside a transient unit, as the CodeDeploy agent runs it. */
  hook(revision: BedRevision, hook: HookEntry, args?: string[], agent?: AgentOptions): Promise<HookRun>;
  /** ApplicationStop (from `previous`, when given), ApplicationStart and ValidateService; stops at a failed hook. */
  deploy(revision: BedRevision, previous?: BedRevision, agent?: AgentOptions): Promise<DeploymentRuns>;
  /** `validate --check --json` of a revision, parsed. */
  check(revision: BedRevision): Promise<CheckReport>;
  /** GET through nginx (or a URL) inside the container. */
  get(urlOrPath?: string): Promise<BedAnswer>;
  /** GET until an answer matches (each poll a fresh request); on timeout the error names the last answer. */
  waitForAnswer(match: (answer: BedAnswer) => boolean, timeoutMs: number, urlOrPath?: string): Promise<BedAnswer>;
  /** Whether a PID inside the container runs (a zombie waiting for PID 1 to reap it does not). */
  isRunning(pid: number): Promise<boolean>;
  /** The port nginx's include names now. */
  livePort(): number | null;
  /** The last lines of a unit's journal, for failure messages. */
  journal(unit: string): Promise<string>;
  /** Before a test: stop every app unit and process, forget their units, fresh state, nginx back on green. */
  reset(): Promise<void>;
  /** Power the container off and remove the scratch directory: call from afterAll. */
  stop(): Promise<void>;
}

/** `--check --json` as the tests read it: one entry per port. */
export interface CheckReport {
  ports: CheckPort[];
  [key: string]: unknown;
}

/** One port of `--check --json` (the systemd fields per the issue 12 interface). */
export interface CheckPort {
  port: number;
  supervisor?: string;
  unit?: string;
  activeState?: string;
  mainPid?: number;
  restarts?: number;
  enabled?: boolean;
  [key: string]: unknown;
}

/** Boot the bed's container with its nginx unit enabled and running. */
export async function startSystemdBed(name: string): Promise<SystemdBed> {
  // The host's nginx is the container's (/usr comes from the host): missing, the tests fail with the install hint.
  const nginxBin = findNginxBin();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `portproof-systemd-${name}-`));
  // The app and nginx's workers (nobody) read below it: root-owned, not writable by others, as the hooks require.
  fs.chmodSync(scratch, 0o755);
  let container: Container;
  try {
    container = await bootContainer({ name, binds: bedBinds(scratch) });
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const nginx = writeNginxPrefix(nginxBin, path.join(scratch, 'nginx'));
  fs.writeFileSync(path.join(container.unitDir, NginxUnit), renderNginxUnit(nginx));
  const bed = makeBed(container, scratch, nginx);
  const enabled = await container.systemctl('enable', '--now', NginxUnit);
  if (enabled.code !== 0) {
    const journal = await bed.journal(NginxUnit);
    await bed.stop();
    throw new Error(`${NginxUnit} did not start: ${enabled.stderr}\n${journal}`);
  }
  return bed;
}

/** The repository (read-only) and the scratch directory, each at its own path; node_modules where it really is. */
function bedBinds(scratch: string): { host: string; readOnly?: boolean }[] {
  const binds = [{ host: Repo, readOnly: true }, { host: scratch }];
  // A worktree's node_modules is a link to the main checkout's (the hooks from source import through it).
  const modules = fs.realpathSync(path.join(Repo, 'node_modules'));
  if (!modules.startsWith(`${Repo}/`)) binds.push({ host: modules, readOnly: true });
  return binds;
}

function makeBed(container: Container, scratch: string, nginx: BedNginx): SystemdBed {
  let states = 0;
  const newStateDir = (): string => {
    states += 1;
    const dir = path.join(scratch, `state-${states}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    return dir;
  };
  const section = nginxSection(
    {
      includePath: nginx.includePath,
      testCommand: [...nginx.base, '-t'],
      reloadCommand: [...nginx.base, '-s', 'reload'],
      pidFile: nginx.pidFile,
      url: `http://127.0.0.1:${BedPorts.listen}`,
    },
    { reloadTimeout: '10s' },
  );
  let deployments = 0;
  const hook = async (
    revision: BedRevision,
    name: HookEntry,
    args: string[] = [],
    agent: AgentOptions = {},
  ): Promise<HookRun> => {
    const env = agentEnv(
      {
        event: findEntry(name).event,
        deploymentId: `d-SYSTEMD${deployments}`,
        applicationName: 'fixture',
        groupName: 'test',
        groupId: 'g-1',
      },
      {},
    );
    const argv = bundleHookArgv(revision, name);
    const defined = Object.entries({ ...env, PORTPROOF_BUNDLE_ROOT: revision.dir }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    );
    return container.runHookAsAgent([...argv, ...args], Object.fromEntries(defined), agent);
  };
  const bed: SystemdBed = {
    container,
    scratch,
    stateDir: newStateDir(),
    includePath: nginx.includePath,
    revision: (options = {}) => {
      const revision = makeRevision({
        ports: [BedPorts.blue, BedPorts.green],
        nginx: section,
        ...options,
        // Inside the container PID 1 is systemd: `auto` picks it, as on a host.
        app: { supervisor: 'auto', ...options.app },
        stateDir: options.stateDir ?? bed.stateDir,
        parentDir: scratch,
        hooksDir: path.join(Repo, 'hooks'),
      });
      return { dir: revision.dir, configPath: revision.configPath };
    },
    hook,
    deploy: async (revision, previous, agent) => {
      deployments += 1;
      const runs: Omit<DeploymentRuns, 'last'> = {};
      if (previous !== undefined) {
        runs.stop = await hook(previous, 'stop', [], agent);
        if (runs.stop.code !== 0) return { ...runs, last: runs.stop };
      }
      runs.start = await hook(revision, 'start', [], agent);
      if (runs.start.code !== 0) return { ...runs, last: runs.start };
      runs.validate = await hook(revision, 'validate', [], agent);
      return { ...runs, last: runs.validate };
    },
    check: async (revision) => {
      const run = await container.exec([...bundleHookArgv(revision, 'validate'), '--check', '--json'], {
        env: { PORTPROOF_BUNDLE_ROOT: revision.dir },
      });
      try {
        return JSON.parse(run.stdout) as CheckReport;
      } catch {
        throw new Error(`validate --check --json printed no JSON (exit ${run.code}):\n${run.stdout}${run.stderr}`);
      }
    },
    get: async (urlOrPath = '/') => {
      const url = urlOrPath.startsWith('http') ? urlOrPath : `http://127.0.0.1:${BedPorts.listen}${urlOrPath}`;
      const run = await container.exec(['curl', '-sS', '-m', String(RequestTimeoutS), '-w', '\n%{http_code}', url]);
      return parseCurl(run);
    },
    waitForAnswer: async (match, timeoutMs, urlOrPath) => {
      let last: BedAnswer | null = null;
      try {
        const matches = async (): Promise<boolean> => {
          last = await bed.get(urlOrPath);
          return match(last);
        };
        await pollUntil(matches, timeoutMs, 'a matching answer');
      } catch (error) {
        throw new Error(`${(error as Error).message}; the last answer: ${JSON.stringify(last)}`);
      }
      return last!;
    },
    isRunning: async (pid) => {
      const stat = await container.exec(['cat', `/proc/${pid}/stat`]);
      // No such process: cat fails. A zombie has exited; only its entry waits for PID 1.
      return stat.code === 0 && parseStat(stat.stdout).state !== 'Z';
    },
    livePort: () => {
      const match = /127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(nginx.includePath, 'utf8'));
      return match === null ? null : Number(match[1]);
    },
    journal: async (unit) => {
      const run = await container.exec(['journalctl', '--no-pager', '-o', 'cat', '-n', '40', '-u', unit]);
      return `journal of ${unit}:\n${run.stdout}${run.stderr}`;
    },
    reset: async () => {
      await forgetAppUnits(container);
      // Whatever a test started directly (supervisor: direct) or left behind: the fixture is the container's only app.
      await container.exec(['pkill', '-KILL', '-f', FixtureAppPath]);
      await pollUntil(
        async () => (await container.exec(['pgrep', '-f', FixtureAppPath])).code === 1,
        10_000,
        'the fixture apps in the container to exit',
      );
      bed.stateDir = newStateDir();
      fs.writeFileSync(nginx.includePath, renderServiceUrl(BedPorts.green));
      const reloaded = await container.systemctl('reload', NginxUnit);
      if (reloaded.code !== 0) throw new Error(`reloading ${NginxUnit} failed: ${reloaded.stderr}`);
    },
    stop: async () => {
      await container.poweroff();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
  return bed;
}

/** Stop, disable and remove every unit file a test or a hook wrote (all but nginx's and the masks). */
async function forgetAppUnits(container: Container): Promise<void> {
  const files = fs
    .readdirSync(container.unitDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.service') && entry.name !== NginxUnit)
    .map((entry) => entry.name);
  // Instances of a user's template (fixture@8081.service) are loaded units without a file of their own.
  const loaded = await container.systemctl('list-units', '--all', '--plain', '--no-legend', 'portproof-*', 'fixture*');
  const units = [
    ...new Set([...files, ...loaded.stdout.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '')]),
  ].filter((unit) => unit.endsWith('.service') && !unit.includes('@.'));
  if (units.length > 0) {
    await container.systemctl('disable', '--now', ...units);
    await container.systemctl('reset-failed', ...units);
  }
  for (const file of files) fs.rmSync(path.join(container.unitDir, file), { force: true });
  await container.systemctl('daemon-reload');
}

/** Compiled, a hook runs from the bundle as CodeDeploy runs it; from source, through bin/portproof.js. */
function bundleHookArgv(revision: BedRevision, name: HookEntry): string[] {
  return process.env.PORTPROOF_TEST_FROM_SOURCE === '1' ? hookArgv(name) : [path.join(revision.dir, 'hooks', name)];
}

function parseCurl(run: ExecResult): BedAnswer {
  const cut = run.stdout.lastIndexOf('\n');
  const status = Number(run.stdout.slice(cut + 1));
  return { status: Number.isInteger(status) ? status : 0, body: run.stdout.slice(0, cut), error: run.stderr.trim() };
}

/** The fixture's `version=v1 pid=N` answer, parsed. */
export function parseAnswer(answer: BedAnswer): { version: string; pid: number } | null {
  const match = /version=(\S+) pid=(\d+)/.exec(answer.body);
  return match === null ? null : { version: match[1]!, pid: Number(match[2]) };
}
