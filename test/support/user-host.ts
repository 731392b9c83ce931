import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runHookAsAgent2, type Agent2Run } from '../../src/lab/agent2.ts';
import { bootContainer, type Container, type ExecResult } from '../../src/lab/container.ts';
import { startHammer, type Hammer } from '../../src/lab/hammer.ts';
import { pollUntil } from '../../src/lab/net.ts';

// The host of the end-to-end test (test/e2e/user-path.test.ts): a container booting a real systemd, with nginx laid
// out as Debian's nginx-light package installs it (this machine's /etc/nginx, copied: sites-enabled/default included)
// and started by Debian's own unit, an empty /usr/local as on a fresh machine, and the real CodeDeploy agent 1.8.1
// under /opt/codedeploy-agent with its config where the agent reads it. The agent's source is extracted at test time
// from a fetched copy of aws/aws-codedeploy-agent; none of it is part of this repository.

const Repo = path.resolve(import.meta.dirname, '../..');
/** The Ruby driver that runs one local deployment through the agent's own Deployer class. */
const DriverPath = path.join(Repo, 'test/support/codedeploy-local.rb');

/** The agent version the test is written against (its local mode, its cleanup, its hook runner). */
export const AgentVersion = '1.8.1';
/** Where a host keeps the agent, its deployment root and its config (the agent's defaults). */
export const AgentHome = '/opt/codedeploy-agent';
export const DeploymentRoot = `${AgentHome}/deployment-root`;
const AgentConfig = '/etc/codedeploy-agent/conf/codedeployagent.yml';
const AgentLog = '/var/log/aws/codedeploy-agent/codedeploy-local.log';
const DeploymentsLog = `${DeploymentRoot}/deployment-logs/codedeploy-agent-deployments.log`;
/** How many revisions the agent keeps per deployment group (its `:max_revisions:`; 5 by default): few, so it deletes. */
export const MaxRevisions = 2;
/** A deployment group ID as CodeDeploy makes them. */
export const GroupId = '4d2f0d6c-9b1e-4a47-8e2f-6a1c0b3e7d55';
const GroupName = 'prod';
/** A whole deployment (Ruby start, three hooks with the default settle) on a busy machine: a budget, not a figure. */
const DeploymentBudgetMs = 300_000;

/** The Debian packages the agent's local mode needs (Ruby and the gems it loads; unzip for zip bundles). */
export const AgentPackages = [
  'ruby',
  'ruby-aws-sdk-core',
  'ruby-aws-sdk-s3',
  'ruby-zip',
  'ruby-logging',
  'ruby-concurrent',
  'ruby-minitar',
  'unzip',
];

/**
 * The agent's source: PORTPROOF_CODEDEPLOY_AGENT (a clone or a bare git directory) when set, and nothing else then;
 * otherwise a clone in .cache/, or where this workspace's `fetch` puts a snapshot.
 */
const AgentSourceCandidates = process.env.PORTPROOF_CODEDEPLOY_AGENT
  ? [process.env.PORTPROOF_CODEDEPLOY_AGENT]
  : [path.join(Repo, '.cache/aws-codedeploy-agent'), '/work/.mirror/aws+aws-codedeploy-agent/repo'];

/** The message the test fails with when the agent's source is missing: the end-to-end test never skips. */
export const AgentSourceHint =
  `the CodeDeploy agent ${AgentVersion} source is missing: git clone --depth 1 --branch v${AgentVersion} ` +
  'https://github.com/aws/aws-codedeploy-agent .cache/aws-codedeploy-agent (or set PORTPROOF_CODEDEPLOY_AGENT to a clone)';

/** The agent's debug lines repeated for every event of every deployment: left out of the transcript. */
const AgentLogNoise =
  /Parse: |Successfully parsed|maps to method|Creating deployment root directory|Checking for app spec|Using appspec file|Instructions directory created/;

/** How the agent ran one deployment, as its console and its logs tell it. */
export interface AgentDeployment {
  deploymentId: string;
  status: 'Succeeded' | 'Failed';
  /** A failed script's ScriptError, as JSON: what the CodeDeploy console shows for the failed event. */
  scriptError?: { error_code: number; script_name: string; message: string; log: string };
  /** What the agent printed (its local mode's lines). */
  output: string;
  /** The lines the agent added to its own log during this deployment (its per-event Parse lines left out). */
  agentLog: string[];
  /** The lines the agent added to its deployments log (each hook's output, tagged with the deployment ID). */
  deploymentsLog: string[];
  /** The last line each lifecycle event's script printed (portproof's verdict), from the deployment's scripts.log. */
  verdicts: Record<string, string>;
  /** The deployment's directory under the agent's deployment root. */
  dir: string;
}

/** One deployment by the agent-2 stand-in: each hook's run, stopping at the first that failed. */
export interface Agent2Deployment {
  deploymentId: string;
  dir: string;
  runs: Record<string, Agent2Run>;
  status: 'Succeeded' | 'Failed';
}

/** What the hooks recorded (the fields the test reads). */
export interface ShopState {
  live: number | null;
  previous: number | null;
  processes: Record<string, { pid: number; release?: string; deploymentId?: string | null }>;
}

/** An answer through nginx inside the container. */
export interface Answer {
  status: number;
  body: string;
  error: string;
}

/** The booted host. */
export interface UserHost {
  container: Container;
  /** The host directory bound at the same path inside (the project, the downloads, agent 2's revisions). */
  scratch: string;
  /** Run a block of the README with /bin/sh -e in a directory inside, as a root shell would. */
  sh(script: string, cwd: string): Promise<ExecResult>;
  /** Run an argv inside (the container's PATH: /usr/local/bin first). */
  run(argv: string[], cwd?: string): Promise<ExecResult>;
  /** One local deployment of a directory bundle by the CodeDeploy agent, in its own unit as the agent runs. */
  deployWithAgent(bundleDir: string): Promise<AgentDeployment>;
  /** One deployment by the agent-2 stand-in: ApplicationStop from `previousDir`, then start and validate. */
  deployWithAgent2(bundleDir: string, deploymentId: string, previousDir?: string): Promise<Agent2Deployment>;
  /** The app's state file, parsed. */
  readState(app: string): Promise<ShopState>;
  /** GET http://127.0.0.1/ (port 80) inside, with the Host header given. */
  get(hostHeader?: string): Promise<Answer>;
  /** Whether a path exists inside. */
  exists(file: string): Promise<boolean>;
  /** Continuous GETs through nginx on port 80, from inside. */
  startLoad(): Hammer;
  /** Power off and remove the scratch directory. */
  stop(): Promise<void>;
}

/** Check what the test needs from this machine, extract the agent, boot the host; throws the install hint if not. */
export async function startUserHost(name: string): Promise<UserHost> {
  checkPackages();
  const agentGit = findAgentSource();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `portproof-e2e-${name}-`));
  fs.chmodSync(scratch, 0o755);
  let container: Container;
  try {
    extractAgent(agentGit, path.join(scratch, 'codedeploy-agent'));
    // Debian's nginx layout, copied: the test changes its sites, never this machine's.
    execFileSync('cp', ['-a', '/etc/nginx', path.join(scratch, 'etc-nginx')]);
    fs.writeFileSync(path.join(scratch, 'codedeployagent.yml'), renderAgentConfig());
    container = await bootContainer({ name, binds: hostBinds(scratch) });
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const host = makeHost(container, scratch);
  try {
    await prepareHost(host, scratch);
  } catch (error) {
    await host.stop();
    throw error;
  }
  return host;
}

function checkPackages(): void {
  const missing = AgentPackages.filter((pkg) => {
    try {
      const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: 'pipe' });
      return !status.includes('install ok installed');
    } catch {
      // dpkg-query exits 1 for a package it has never heard of.
      return true;
    }
  });
  if (missing.length > 0)
    throw new Error(`the CodeDeploy agent's Ruby packages are missing: apt-get install -y ${missing.join(' ')}`);
  if (!fs.existsSync('/etc/nginx/sites-enabled/default') || !fs.existsSync('/usr/sbin/nginx'))
    throw new Error(
      "Debian's nginx layout is missing (/etc/nginx/sites-enabled/default): apt-get install -y nginx-light",
    );
}

/** The git directory of the agent's source at v1.8.1 (a bare repository or a clone's .git). */
function findAgentSource(): string {
  for (const candidate of AgentSourceCandidates) {
    const gitDir = fs.existsSync(path.join(candidate, '.git')) ? path.join(candidate, '.git') : candidate;
    if (!fs.existsSync(path.join(gitDir, 'HEAD'))) continue;
    let gemspec: string;
    try {
      gemspec = execFileSync('git', ['--git-dir', gitDir, 'show', 'HEAD:codedeploy_agent.gemspec'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch {
      // Not the agent's repository (or an empty one): try the next place.
      continue;
    }
    const version = /spec\.version\s*=\s*'([^']+)'/.exec(gemspec)?.[1];
    if (version !== AgentVersion)
      throw new Error(`${gitDir} holds the CodeDeploy agent ${version}, not ${AgentVersion}: ${AgentSourceHint}`);
    return gitDir;
  }
  throw new Error(AgentSourceHint);
}

/** `git archive HEAD`, unpacked: the agent's files as its release has them, outside this repository. */
function extractAgent(gitDir: string, into: string): void {
  fs.mkdirSync(into);
  const tarball = `${into}.tar`;
  execFileSync('git', ['--git-dir', gitDir, 'archive', '--output', tarball, 'HEAD']);
  execFileSync('tar', ['-xf', tarball, '-C', into]);
  fs.rmSync(tarball);
}

/** The agent's own config file, with its defaults but a small max_revisions (and debug lines: its deletions). */
function renderAgentConfig(): string {
  return [
    '---',
    ':log_aws_wire: false',
    ":log_dir: '/var/log/aws/codedeploy-agent/'",
    `:pid_dir: '${AgentHome}/state/.pid/'`,
    ':program_name: codedeploy-agent',
    `:root_dir: '${DeploymentRoot}'`,
    ':verbose: true',
    ':wait_between_runs: 1',
    ':proxy_uri:',
    `:max_revisions: ${MaxRevisions}`,
    ':disable_imds_v1: false',
    '',
  ].join('\n');
}

/**
 * The scratch directory and the repository (the driver, the app, the load worker) at their own paths; Debian's nginx
 * layout at /etc/nginx; what `su` needs for the agent's `runas: root` (PAM, as the host has it).
 */
function hostBinds(scratch: string): { host: string; container?: string; readOnly?: boolean }[] {
  return [
    { host: scratch },
    { host: Repo, readOnly: true },
    { host: path.join(scratch, 'etc-nginx'), container: '/etc/nginx' },
    // A host's state directory is on its disk (the container's own root is a tmpfs, which the hooks refuse).
    { host: stateDisk(scratch), container: '/var/lib/portproof' },
    ...['/etc/pam.d', '/etc/security', '/etc/login.defs', '/etc/shadow', '/etc/default']
      .filter((file) => fs.existsSync(file))
      .map((file) => ({ host: file, readOnly: true })),
  ];
}

/** A directory on this machine's disk for /var/lib/portproof inside: root's, 0755, as the hooks require. */
function stateDisk(scratch: string): string {
  const dir = path.join(scratch, 'var-lib-portproof');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** What the packages' install left on a real host, then Debian's nginx started by its own unit. */
async function prepareHost(host: UserHost, scratch: string): Promise<void> {
  const steps: string[][] = [
    // A fresh machine's /usr/local: empty directories (the container's /usr is this machine's, read-only).
    ['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', '/usr/local'],
    ['mkdir', '-p', '/usr/local/bin', '/usr/local/sbin', '/usr/local/lib', '/usr/local/share'],
    // nginx-light's postinst made these; the container's /var is fresh.
    ['mkdir', '-p', '/var/log/nginx', '/var/lib/nginx', '/var/www', '/opt'],
    ['cp', '-a', '/usr/share/nginx/html', '/var/www/html'],
    ['cp', '-a', path.join(scratch, 'codedeploy-agent'), AgentHome],
    ['install', '-D', '-m', '0644', path.join(scratch, 'codedeployagent.yml'), AgentConfig],
    ['systemctl', 'start', 'nginx.service'],
  ];
  for (const argv of steps) {
    const run = await host.run(argv);
    if (run.code !== 0) throw new Error(`preparing the host: ${argv.join(' ')} failed: ${run.stdout}${run.stderr}`);
  }
}

function makeHost(container: Container, scratch: string): UserHost {
  let agentRuns = 0;
  let agent2Runs = 0;
  const run = (argv: string[], cwd?: string) => container.exec(argv, { cwd, timeoutMs: DeploymentBudgetMs });
  const readLines = async (file: string): Promise<string[]> => {
    const cat = await run(['cat', file]);
    return cat.code === 0 ? cat.stdout.split('\n').filter((line) => line !== '') : [];
  };
  const host: UserHost = {
    container,
    scratch,
    sh: (script, cwd) => run(['sh', '-e', '-x', '-c', script], cwd),
    run,
    deployWithAgent: async (bundleDir) => {
      agentRuns += 1;
      const logBefore = (await readLines(AgentLog)).length;
      const deploymentsBefore = (await readLines(DeploymentsLog)).length;
      // The agent runs in a unit of its own with systemd's default KillMode=control-group, as codedeploy-agent.service.
      const argv = [
        'systemd-run',
        '--wait',
        '--pipe',
        '--quiet',
        '--collect',
        `--unit=codedeploy-agent-e2e-${agentRuns}`,
        '-p',
        'KillMode=control-group',
        'ruby',
        DriverPath,
        AgentHome,
        AgentConfig,
        bundleDir,
        GroupId,
        'shop',
        GroupName,
      ];
      const agent = await run(argv);
      const marker = /^portproof-e2e-result (.*)$/m.exec(agent.stdout);
      if (marker === null)
        throw new Error(
          `the agent did not finish the deployment (exit ${agent.code}):\n${agent.stdout}${agent.stderr}`,
        );
      const result = JSON.parse(marker[1]!) as Pick<AgentDeployment, 'deploymentId' | 'status' | 'scriptError'>;
      const dir = `${DeploymentRoot}/${GroupId}/${result.deploymentId}`;
      return {
        ...result,
        output: agent.stdout.slice(0, marker.index).trim(),
        agentLog: (await readLines(AgentLog)).slice(logBefore).filter((line) => !AgentLogNoise.test(line)),
        deploymentsLog: (await readLines(DeploymentsLog)).slice(deploymentsBefore),
        verdicts: readVerdicts(await readLines(`${dir}/logs/scripts.log`)),
        dir,
      };
    },
    deployWithAgent2: async (bundleDir, deploymentId, previousDir) => {
      agent2Runs += 1;
      // Agent 2 unpacks each revision into a directory of its own; the hooks find their bundle from their own path.
      const dir = path.join(scratch, 'agent2', String(agent2Runs), deploymentId);
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      execFileSync('cp', ['-a', bundleDir, dir]);
      const who = { deploymentId, applicationName: 'shop', groupName: GroupName, groupId: GroupId };
      const runs: Record<string, Agent2Run> = {};
      const steps: [string, 'stop' | 'start' | 'validate', string | undefined][] = [
        ['ApplicationStop', 'stop', previousDir],
        ['ApplicationStart', 'start', dir],
        ['ValidateService', 'validate', dir],
      ];
      for (const [event, hook, from] of steps) {
        if (from === undefined) continue;
        const timeoutSeconds = readAppspecTimeout(from, event);
        const options = { timeoutSeconds, restrictEnv: true, launcher: container.enterArgv() };
        runs[event] = await runHookAsAgent2(from, hook, who, options);
        if (runs[event].code !== 0) return { deploymentId, dir, runs, status: 'Failed' };
      }
      return { deploymentId, dir, runs, status: 'Succeeded' };
    },
    readState: async (app) => {
      const cat = await run(['cat', `/var/lib/portproof/${app}/state.json`]);
      if (cat.code !== 0) throw new Error(`no state for ${app}: ${cat.stderr}`);
      return JSON.parse(cat.stdout) as ShopState;
    },
    get: async (hostHeader = '127.0.0.1') => {
      const argv = ['curl', '-sS', '-m', '5', '-H', `Host: ${hostHeader}`, '-w', '\n%{http_code}', 'http://127.0.0.1/'];
      const answer = await run(argv);
      const cut = answer.stdout.lastIndexOf('\n');
      return {
        status: Number(answer.stdout.slice(cut + 1)) || 0,
        body: answer.stdout.slice(0, cut),
        error: answer.stderr.trim(),
      };
    },
    exists: async (file) => (await run(['test', '-e', file])).code === 0,
    startLoad: () =>
      startHammer('http://127.0.0.1/', {
        launcher: container.enterArgv(),
        concurrency: 2,
        rate: 40,
        maxDurationMs: 30 * 60_000,
        requestTimeoutMs: 5000,
      }),
    stop: async () => {
      await container.poweroff();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
  return host;
}

/** Each lifecycle event's last `portproof …` line in a deployment's scripts.log (timestamps and [stdout] cut). */
export function readVerdicts(scriptsLog: string[]): Record<string, string> {
  const verdicts: Record<string, string> = {};
  let event = '';
  for (const raw of scriptsLog) {
    const line = raw.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '');
    const started = /^LifecycleEvent - (\w+)/.exec(line);
    if (started) event = started[1]!;
    else if (line.startsWith('[stdout]portproof ')) verdicts[event] = line.slice('[stdout]'.length);
  }
  return verdicts;
}

/** The appspec's timeout (seconds) for an event's script, as the agent reads it; 3600 when none. */
function readAppspecTimeout(revisionDir: string, event: string): number {
  const appspec = fs.readFileSync(path.join(revisionDir, 'appspec.yml'), 'utf8');
  const section = appspec.slice(appspec.indexOf(`${event}:`));
  return Number(/timeout:\s*(\d+)/.exec(section)?.[1] ?? 3600);
}

/** Wait until GET / through nginx answers as `match` wants (each poll a fresh request). */
export async function waitForAnswer(host: UserHost, match: (a: Answer) => boolean, ms: number): Promise<Answer> {
  let last: Answer | null = null;
  await pollUntil(
    async () => {
      last = await host.get();
      return match(last);
    },
    ms,
    'an answer through nginx',
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the last: ${JSON.stringify(last)}`);
  });
  return last!;
}
