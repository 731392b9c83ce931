import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packRelease } from '../../build/release.ts';
import { readPackageVersion } from '../../build/version.ts';
import { localDeploymentId } from '../../src/lab/agent2.ts';
import type { Hammer, HammerResult } from '../../src/lab/hammer.ts';
import {
  AgentVersion,
  startUserHost,
  waitForAnswer,
  type AgentDeployment,
  type Answer,
  type UserHost,
} from '../support/user-host.ts';

// Issue 23: the path users take, end to end, as the first test. The release archive installed as the README says
// from a fresh root shell; `portproof init` and `portproof bundle` (the default layout: the app's files under app/)
// for a python app; deployments by the real CodeDeploy agent 1.8.1 (its local mode, its deployment root, its
// last_successful_install, its deletion of old revisions) into a host booting a real systemd, behind nginx as Debian
// ships it (sites-enabled/default with `listen 80 default_server`), reloaded through its running master. Three
// deployments, a failed one, a rollback, then the same through the agent-2 stand-in, with traffic through nginx on
// port 80 all along. The steps run in order; one that fails fails the rest, naming it.

const version = readPackageVersion();
const App = 'shop';
const AppSource = path.resolve(import.meta.dirname, '../fixtures/shop-app.py');
const ServeMs = 60_000;
const StepMs = 900_000;
/** Requests a Debian host's nginx receives whatever name they carry: the site must answer them, not the default. */
const HostHeaders = ['127.0.0.1', 'shop.example.com'];

/** "N of N requests through nginx reached PID X": the switch proved by requests nginx forwarded to the new app. */
const ProvedOk = /(\d+) of \1 requests through nginx reached PID (\d+)/;

/** What the test reads of the portproof.yml init wrote. */
interface ShopConfig {
  ports: number[];
  nginx: { include: string; url?: string };
}

describe('the path users take: release, init, bundle, the CodeDeploy agent, systemd, Debian nginx', () => {
  let host: UserHost;
  let load: Hammer | null = null;
  let traffic: HammerResult | null = null;
  const transcript: string[] = [];
  let failedStep: string | null = null;
  /** The agent's deployments by revision, for the later steps. */
  const deployed = new Map<string, AgentDeployment>();
  /** The port the first deployment targets (the one the seeded include does not name) and the other one. */
  let first = 0;
  let second = 0;
  /** Debian's nginx.service master: every switch reloads through it, none restarts it. */
  let nginxMaster = 0;
  const project = () => path.join(host.scratch, App);
  const say = (line = '') => transcript.push(line);

  /** A step of the path: runs only when every earlier one passed, and fails (never skips) otherwise. */
  const step = (name: string, body: () => Promise<void>) =>
    it(
      name,
      async () => {
        if (failedStep !== null) throw new Error(`not run: the earlier step "${failedStep}" failed`);
        say(`\n=== ${name}`);
        try {
          await body();
        } catch (error) {
          failedStep = name;
          say(`!!! FAILED: ${(error as Error).message.split('\n')[0]}`);
          throw error;
        }
      },
      StepMs,
    );

  /** Run inside and log it; fail with its output when it exits non-zero. */
  const runLogged = async (argv: string[], cwd: string) => {
    const run = await host.run(argv, cwd);
    say(`# ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
    for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n')) say(`  ${line}`);
    if (run.code !== 0) throw new Error(`${argv.join(' ')} exited ${run.code}: ${run.stdout}${run.stderr}`);
    return run;
  };

  /** An OK verdict proves N of N requests through nginx reached the PID the state records for the live port. */
  const expectProvedSwitch = async (verdict: string | undefined, port: number) => {
    expect(verdict, 'ValidateService verdict').toMatch(/^portproof ValidateService OK: /);
    expect(verdict).toContain(`nginx now → ${port}`);
    const proved = ProvedOk.exec(verdict!);
    expect(proved, `the OK does not say how many requests through nginx reached which PID: ${verdict}`).not.toBeNull();
    const state = await host.readState(App);
    expect(state.live).toBe(port);
    const pid = state.processes[String(port)]?.pid;
    expect(Number(proved![2])).toBe(pid);
    return pid!;
  };

  /** Every name nginx is asked for reaches the version and PID expected (not Debian's welcome page). */
  const expectServed = async (tag: string, pid: number) => {
    for (const name of HostHeaders) {
      const answer: Answer = await host.get(name);
      say(`  GET http://${name}/ through nginx → ${answer.status} ${answer.body.trim().slice(0, 60)}`);
      expect(answer.body.trim(), `Host: ${name}`).toBe(`version=${tag} pid=${pid}`);
    }
  };

  /** The transcript lines of one agent deployment: what it printed, its log, each hook's verdict. */
  const logAgent = (deployment: AgentDeployment) => {
    say(`agent ${AgentVersion} deployment ${deployment.deploymentId}: ${deployment.status}`);
    for (const line of deployment.output.split('\n')) say(`  agent> ${line}`);
    for (const line of deployment.agentLog) say(`  agent log> ${line.replace(/^\S+ /, '')}`);
    for (const [event, verdict] of Object.entries(deployment.verdicts)) say(`  ${event}: ${verdict}`);
    if (deployment.scriptError) say(`  ScriptError (the console): ${JSON.stringify(deployment.scriptError)}`);
    if (load) {
      const counts = load.latest();
      say(`  traffic so far: ${counts.sent} requests through nginx, ${counts.failed} failed`);
    }
  };

  const deploy = async (revision: string) => {
    const deployment = await host.deployWithAgent(path.join(project(), revision));
    logAgent(deployment);
    return deployment;
  };

  /** A successful agent deployment of `tag` to `port`: each hook OK, the switch proved, nginx serving the new PID. */
  const expectDeployed = async (deployment: AgentDeployment, tag: string, port: number) => {
    expect(deployment.status, JSON.stringify(deployment.scriptError)).toBe('Succeeded');
    expect(deployment.verdicts.ApplicationStart).toMatch(/^portproof ApplicationStart OK: /);
    expect(deployment.verdicts.ApplicationStart).toContain(`portproof-${App}@${port}.service`);
    const pid = await expectProvedSwitch(deployment.verdicts.ValidateService, port);
    await expectServed(tag, pid);
    return pid;
  };

  beforeAll(async () => {
    host = await startUserHost('pp-e2e');
    // `npm run release` for this machine's arch (the global setup built the hooks): the archive the README installs.
    await packRelease(['x64'], path.join(host.scratch, 'download'));
  }, 600_000);

  afterAll(async () => {
    traffic = traffic ?? (await load?.stop().catch(() => null)) ?? null;
    await host?.stop();
    const text = `${transcript.join('\n')}\n`;
    if (process.env.PORTPROOF_E2E_TRANSCRIPT) fs.writeFileSync(process.env.PORTPROOF_E2E_TRANSCRIPT, text);
    console.log(text);
  }, 120_000);

  step("the README's install, from a fresh root shell", async () => {
    const block = readReadmeBlock('## Install', 'tar -xzf');
    const download = path.join(host.scratch, 'download');
    say(`# in ${download} (the archive and SHA256SUMS), the README's install block:`);
    const run = await host.sh(block, download);
    for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n')) say(`  ${line}`);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`portproof ${version}`);
    const found = await host.run(['sh', '-c', 'command -v portproof']);
    expect(found.stdout.trim()).toMatch(/^\/usr\/local\/bin\/portproof$/);
  });

  step('init and bundle: the sample app in the layout bundle writes', async () => {
    fs.mkdirSync(project());
    fs.copyFileSync(AppSource, path.join(project(), 'app.py'));
    await runLogged(
      ['portproof', 'init', '--command', 'python3 app.py --port={port}', '--health', '/health'],
      project(),
    );
    say(`# cat portproof.yml\n${fs.readFileSync(path.join(project(), 'portproof.yml'), 'utf8').trimEnd()}`);
    for (const tag of ['v1', 'v2', 'v3']) {
      fs.writeFileSync(path.join(project(), 'VERSION'), `${tag}\n`);
      await runLogged(['portproof', 'bundle', '--out', `rev-${tag}`, 'app.py', 'VERSION'], project());
    }
    // The broken revision: VERSION forgotten, so the app exits at start with a traceback.
    await runLogged(['portproof', 'bundle', '--out', 'rev-broken', 'app.py'], project());
    expect(fs.existsSync(path.join(project(), 'rev-v1/app/app.py'))).toBe(true);

    const prepare = readReadmeBlock('**2. Prepare each host once**', 'nginx -t');
    say(`# in ${project()}, the README's "Prepare each host once" block:`);
    const run = await host.sh(prepare, project());
    for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n')) say(`  ${line}`);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);

    // Each deployment targets the port nginx does not serve: the first one the port the seeded include leaves free.
    const config = parse(fs.readFileSync(path.join(project(), 'portproof.yml'), 'utf8')) as ShopConfig;
    const include = await host.run(['cat', config.nginx.include]);
    const seeded = Number(/127\.0\.0\.1:(\d+)/.exec(include.stdout)?.[1]);
    first = config.ports.find((port) => port !== seeded)!;
    second = config.ports.find((port) => port !== first)!;
    say(`# the include nginx reads (${config.nginx.include}): ${include.stdout.trim()}`);
  });

  step(`v1, v2, v3 by the CodeDeploy agent ${AgentVersion}, traffic through nginx on port 80 from v1 on`, async () => {
    nginxMaster = await readNginxMaster();
    say(`nginx.service (Debian's unit) runs master PID ${nginxMaster}`);
    const v1 = await deploy('rev-v1');
    await expectDeployed(v1, 'v1', first);
    expect(v1.verdicts.ApplicationStop, 'the first deployment has no last successful revision').toBeUndefined();
    load = host.startLoad();
    await load.started;
    await load.waitUntil((counts) => counts.ok >= 20, ServeMs);

    const v2 = await deploy('rev-v2');
    expect(v2.verdicts.ApplicationStop).toMatch(/^portproof ApplicationStop OK: /);
    await expectDeployed(v2, 'v2', second);
    const v3 = await deploy('rev-v3');
    await expectDeployed(v3, 'v3', first);
    deployed.set('v3', v3);
    // max_revisions 2: the agent deleted v1's revision at v3's download (it spares only its last Install).
    expect(v3.agentLog.join('\n')).toContain(`Delete Files ["${v1.dir}"]`);
    expect(await host.exists(v1.dir)).toBe(false);
  });

  step('a revision whose app exits at start: the agent reports the verdict, nginx keeps serving v3', async () => {
    const before = await host.readState(App);
    const livePid = before.processes[String(first)]!.pid;
    const broken = await deploy('rev-broken');
    expect(broken.status).toBe('Failed');
    const error = broken.scriptError!;
    expect(error.script_name).toBe('hooks/start');
    expect(error.message).toBe('Script at specified location: hooks/start run as user root failed with exit code 1');
    const lines = error.log.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\[stdout\]portproof ApplicationStart FAILED: .*exited with code 1/);
    expect(error.log).toContain("FileNotFoundError: [Errno 2] No such file or directory: 'VERSION'");
    expect(broken.verdicts.ValidateService).toBeUndefined();
    const state = await host.readState(App);
    expect(state.live).toBe(first);
    await expectServed('v3', livePid);
  });

  step('rollback: the last good revision deployed again, then `hooks/validate --port` by hand', async () => {
    const firstV3 = (await host.readState(App)).processes[String(first)]!.pid;
    const again = await deploy('rev-v3');
    // ApplicationStop ran from the failed revision: the agent's last_successful_install is its last Install.
    expect(again.verdicts.ApplicationStop).toMatch(/^portproof ApplicationStop OK: /);
    await expectDeployed(again, 'v3', second);
    // The agent deleted the live v3's own deployment archive (it spares its last Install, the failed one); the app
    // keeps running from portproof's release, so the rollback below still has a version to return to.
    const liveDir = deployed.get('v3')!.dir;
    expect(again.agentLog.join('\n')).toContain(`Delete Files ["${liveDir}"]`);
    expect(await host.exists(liveDir)).toBe(false);

    // By hand, as root, from the deployment's directory, as the README's Rollback section says.
    const validate = `${again.dir}/deployment-archive/hooks/validate`;
    const byHand = await runLogged([validate, '--port', String(first)], '/root');
    const verdict = byHand.stdout.trimEnd().split('\n').at(-1);
    const pid = await expectProvedSwitch(verdict, first);
    expect(pid).toBe(firstV3);
    await expectServed('v3', firstV3);
  });

  step('the agent-2 stand-in: a deployment, then a failed one under the same local-<pid> ID', async () => {
    fs.writeFileSync(path.join(project(), 'VERSION'), 'v4\n');
    await runLogged(['portproof', 'bundle', '--out', 'rev-v4', 'app.py', 'VERSION'], project());
    // Agent 2 names local deployments local-<pid>, and PIDs repeat: the broken revision comes under the same ID.
    const id = localDeploymentId(4242);
    const v4 = await host.deployWithAgent2(path.join(project(), 'rev-v4'), id);
    logAgent2(v4);
    expect(v4.status).toBe('Succeeded');
    const pid = await expectProvedSwitch(v4.runs.ValidateService?.verdict, second);
    await expectServed('v4', pid);

    const broken = await host.deployWithAgent2(path.join(project(), 'rev-broken'), id, v4.dir);
    logAgent2(broken);
    expect(broken.status).toBe('Failed');
    expect(broken.runs.ApplicationStop?.verdict).toMatch(/^portproof ApplicationStop OK: /);
    expect(broken.runs.ApplicationStart?.verdict).toMatch(/^portproof ApplicationStart FAILED: .*exited with code 1/);
    // The same ID, another revision: a release of its own, never v4's reused (which would have started v4 again).
    const release = /^Release (\S+?):/m.exec(broken.runs.ApplicationStart!.stdout)?.[1];
    say(`  the broken revision's release under the repeated ID: ${release}`);
    expect(release).toBe(`/var/lib/portproof/${App}/releases/${id}-2`);
    expect((await host.readState(App)).live).toBe(second);
    await expectServed('v4', pid);
  });

  step('traffic through nginx on port 80 all along: 0 failed requests, every answer from the app', async () => {
    const stopped = await load!.stop();
    traffic = stopped;
    say(
      `traffic: ${stopped.sent} requests through nginx in ${(stopped.durationMs / 1000).toFixed(0)} s, ` +
        `${stopped.failed} failed ${JSON.stringify(stopped.failures)}; by version ${JSON.stringify(stopped.byVersion)}`,
    );
    expect(stopped.hitMaxDuration).toBe(false);
    expect(stopped.failures).toEqual({});
    expect(stopped.failed).toBe(0);
    expect(Object.keys(stopped.byVersion).sort()).toEqual(['v1', 'v2', 'v3', 'v4']);
    await waitForAnswer(host, (answer) => answer.body.startsWith('version=v4 '), ServeMs);
    // Reloaded through the running master all along: the same master nginx.service started, still its MainPID.
    const master = await readNginxMaster();
    say(`nginx.service master PID at the end: ${master} (at the start: ${nginxMaster})`);
    expect(master).toBe(nginxMaster);
  });

  async function readNginxMaster(): Promise<number> {
    const unit = Number((await host.run(['systemctl', 'show', '-P', 'MainPID', 'nginx.service'])).stdout.trim());
    const pidFile = Number((await host.run(['cat', '/run/nginx.pid'])).stdout.trim());
    expect(pidFile, 'nginx.service MainPID and /run/nginx.pid').toBe(unit);
    expect(unit).toBeGreaterThan(0);
    return unit;
  }

  function logAgent2(deployment: Awaited<ReturnType<UserHost['deployWithAgent2']>>) {
    say(`agent-2 stand-in deployment ${deployment.deploymentId}: ${deployment.status}`);
    for (const [event, run] of Object.entries(deployment.runs)) {
      for (const line of run.scriptsLog.slice(-3)) say(`  scripts.log> ${line}`);
      say(`  ${event}: ${run.verdict}`);
    }
  }
});

/** The first ```sh block after `heading` in README.md that contains `needle`: the commands as users copy them. */
function readReadmeBlock(heading: string, needle: string): string {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  for (const match of readme.slice(start).matchAll(/```sh\n([\s\S]*?)```/g)) {
    if (match[1]!.includes(needle)) return match[1]!;
  }
  throw new Error(`README.md has no sh block with "${needle}" after "${heading}"`);
}
