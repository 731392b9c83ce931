import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { readState } from '../core/state/state.ts';
import { signalProcess } from '../core/process/signal.ts';
import { isSameProcess } from '../core/procfs/index.ts';
import { LifecycleEvents } from '../core/events.ts';
import { startHammer, type Hammer } from '../lab/hammer.ts';
import { findNginxBin, NginxMissing, nginxSection, startNginx, type TestNginx } from '../lab/nginx.ts';
import { findFreePorts } from '../lab/ports.ts';
import { writeRevision } from '../lab/revision.ts';
import { agentEnv, runHookProcess } from '../lab/agent.ts';
import { isSystemdBooted } from '../core/supervisor/choose.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const SampleApp = path.join(repo, 'examples/sample-app/server.mjs');

/** Where the rehearsal runs and what it found along the way. */
interface Stage {
  root: string;
  stateDir: string;
  ports: number[];
  nginx: TestNginx | null;
  hammer: Hammer | null;
  failedHooks: number;
}

/**
 * The local rehearsal: the sample app deployed twice (v1, then v2) through the compiled hooks in CodeDeploy's order,
 * behind a private nginx on loopback while traffic flows; in-place when nginx is missing. Leaves nothing behind.
 */
export async function runRehearsal(
  hooksDir: string,
  say: (line: string) => void,
  findNginx: () => string = findNginxBin,
): Promise<number> {
  const stage = await setUp(hooksDir, say, findNginx);
  try {
    let previous: string | null = null;
    for (const version of ['v1', 'v2']) {
      const revision = path.join(stage.root, `revision-${version}`);
      const timeouts = { ApplicationStop: 180, ApplicationStart: 180, ValidateService: 300 };
      writeRevision(revision, { config: sampleConfig(stage, version), hooksDir, timeouts, destination: revision });
      await deploy(stage, revision, previous, version, say);
      previous = revision;
      if (stage.nginx && !stage.hammer) {
        // Traffic starts once v1 serves: the second deployment is the one users would notice.
        stage.hammer = startHammer(`${stage.nginx.url}/`, { concurrency: 2, maxDurationMs: 120_000 });
        say(`  2 clients now send requests through nginx, without pause`);
      }
    }
    return report(stage, say);
  } finally {
    await tearDown(stage, say);
  }
}

async function setUp(hooksDir: string, say: (line: string) => void, findNginx: () => string): Promise<Stage> {
  const root = fs.mkdtempSync(path.join(repo, '.cache', 'rehearsal-'));
  const stateDir = path.join(root, 'state');
  let nginxBin: string | null = null;
  try {
    nginxBin = findNginx();
  } catch {
    say(`${NginxMissing} (on Debian/Ubuntu: sudo apt-get install -y nginx-light)`);
    say('Rehearsing the in-place topology instead: one port, no nginx.');
  }
  const [listen, blue, green] = await findFreePorts(3);
  const ports = nginxBin ? [blue!, green!] : [blue!];
  const stage: Stage = { root, stateDir, ports, nginx: null, hammer: null, failedHooks: 0 };
  if (nginxBin) {
    // nginx starts pointing at the green port, where nothing listens yet: the first deployment targets blue.
    stage.nginx = await startNginx({ listenPort: listen!, livePort: green! });
    say(`nginx on ${stage.nginx.url} switching between ports ${blue} and ${green}`);
  }
  say(`hooks: ${hooksDir}; revisions and state under ${root}`);
  // A rehearsal writes no systemd unit into the machine it runs on: the hooks choose systemd on a host whose PID 1
  // is systemd (app.supervisor: auto); here the sample is started directly either way, and the line says so.
  const pid1 = isSystemdBooted() ? 'PID 1 is systemd, but a rehearsal writes no units here' : 'PID 1 is not systemd';
  say(`supervisor: direct (${pid1}); nothing restarts the sample after a crash`);
  return stage;
}

function sampleConfig(stage: Stage, version: string): Record<string, unknown> {
  return {
    app: {
      name: 'sample',
      command: [process.execPath, SampleApp, '--port={port}', `--version=${version}`],
      supervisor: 'direct',
    },
    ports: stage.ports,
    health: {
      url: 'http://127.0.0.1:{port}/actuator/health',
      expectBody: '"status":"UP"',
      interval: '200ms',
      timeout: '20s',
    },
    stop: { grace: '10s' },
    start: { timeout: '20s' },
    ...(stage.nginx ? { nginx: nginxSection(stage.nginx) } : {}),
    stateDir: stage.stateDir,
  };
}

async function deploy(
  stage: Stage,
  revision: string,
  previous: string | null,
  version: string,
  say: (line: string) => void,
): Promise<void> {
  const deploymentId = `d-REHEARSE${version.toUpperCase()}`;
  say('');
  say(`deployment ${deploymentId}: ${version}   (serving before: ${await whoServes(stage)})`);
  for (const { event, executable } of LifecycleEvents) {
    // CodeDeploy runs ApplicationStop from the last successful revision, the others from the new one.
    const dir = event === 'ApplicationStop' ? previous : revision;
    if (dir === null) {
      say(`  ${event.padEnd(17)} skipped: CodeDeploy runs it from the last successful revision, and there is none yet`);
      continue;
    }
    // Run directly, as the agent does: the hook finds its bundle from its own path, not from a variable.
    const env = agentEnv({ event, deploymentId, applicationName: 'rehearsal', groupName: 'local', groupId: 'local' });
    delete env.PORTPROOF_BUNDLE_ROOT;
    delete env.PORTPROOF_CONFIG;
    const run = await runHookProcess([path.join(dir, executable)], [], env, { cwd: stage.root });
    const output = run.stdout + run.stderr;
    say(`  ${event.padEnd(17)} ${run.verdict || (output.trim().split('\n').at(-1) ?? '')}  [${run.durationMs} ms]`);
    if (run.code !== 0) {
      stage.failedHooks += 1;
      for (const line of output.trim().split('\n').slice(-12, -1)) say(`      ${line}`);
      return;
    }
  }
  say(`  serving now: ${await whoServes(stage)}`);
}

async function whoServes(stage: Stage): Promise<string> {
  const url = stage.nginx ? `${stage.nginx.url}/` : `http://127.0.0.1:${stage.ports[0]}/`;
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        try {
          const { version, pid } = JSON.parse(body) as { version: string; pid: number };
          resolve(`${version}, PID ${pid}`);
        } catch {
          // Not the sample app answering (nginx's own 502 page, say): show the status instead.
          resolve(`HTTP ${response.statusCode}`);
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve('nothing'));
  });
}

async function report(stage: Stage, say: (line: string) => void): Promise<number> {
  say('');
  if (stage.hammer) {
    const counts = await stage.hammer.stop();
    stage.hammer = null;
    const kinds = Object.entries(counts.failures)
      .map(([kind, n]) => `${kind}: ${n}`)
      .join(', ');
    const served = Object.entries(counts.byVersion)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ');
    const failed = `${counts.failed} failed${kinds ? ` (${kinds})` : ''}`;
    say(`traffic through nginx: ${counts.sent} requests, ${failed}; served by ${served}`);
    if (counts.failed > 0) return 1;
  }
  return stage.failedHooks === 0 ? 0 : 1;
}

async function tearDown(stage: Stage, say: (line: string) => void): Promise<void> {
  await stage.hammer?.stop();
  const state = readState(path.join(stage.stateDir, 'sample'));
  const stopped: number[] = [];
  for (const record of Object.values(state.processes)) {
    if (signalProcess(record, 'SIGKILL', true)) stopped.push(record.pid);
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && Object.values(state.processes).some((r) => isSameProcess(r)))
    await new Promise((r) => setTimeout(r, 50));
  await stage.nginx?.stop();
  fs.rmSync(stage.root, { recursive: true, force: true });
  const apps = stopped.length > 0 ? `PIDs ${stopped.join(', ')}` : 'no app';
  say(`cleaned up: stopped ${apps}${stage.nginx ? ' and nginx' : ''}, removed ${stage.root}`);
}
