import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPids, readListenSockets, readProcessInfo } from '../../src/core/procfs/index.ts';
import { parseIncludePort } from '../../src/core/nginx/include.ts';
import { startHammer, type Bucket } from '../../src/lab/hammer.ts';
import { waitForPort } from '../../src/lab/net.ts';
import { startNginx } from '../../src/lab/nginx.ts';
import { findFreePorts } from '../../src/lab/ports.ts';
import { spawnTracked } from '../../src/lab/processes.ts';
import { appFlags, baselineSystem, portproofSystem, type AppSpec, type DeploySystem } from './systems.ts';

/** One setting of the grid: how slowly the old app stops and the new one starts, and how many deployments. */
export interface Setting {
  shutdownMs: number;
  startMs: number;
  deployments: number;
}

/** When each hook of one deployment ran (ms on the load's clock), and what came of it. */
export interface DeploymentRecord {
  version: string;
  marks: { stop: number; start: number; validate: number; end: number };
  reportedSuccess: boolean;
  /** nginx's port had a listener once the old process had had time to exit. */
  nginxOnListener: boolean;
  wallMs: number;
}

/** Everything one system did at one setting. */
export interface ScenarioResult {
  system: string;
  setting: Setting;
  deployments: DeploymentRecord[];
  buckets: Bucket[];
}

const Fixture = path.resolve(import.meta.dirname, '../../test/fixtures/app.mjs');
/** 400 requests a second from 8 clients: steady traffic that leaves the two shared cores room for the deployment. */
export const LoadRate = 400;
export const LoadClients = 8;

/** Run K blue/green deployments of the fixture app under steady load through a private nginx with one system. */
export async function runScenario(kind: 'portproof' | 'baseline', setting: Setting): Promise<ScenarioResult> {
  const runId = Math.random().toString(36).slice(2, 10);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `portproof-bench-${kind}-`));
  const [listen, a, b] = await findFreePorts(3);
  const ports = [a!, b!];
  const nginx = await startNginx({ listenPort: listen!, livePort: a! });
  const system: DeploySystem =
    kind === 'portproof' ? portproofSystem(nginx, ports, workDir) : baselineSystem(nginx, ports, workDir);
  try {
    // Both systems start from blue/green's steady state, started by hand: v0 live on port A, and the version before
    // it still up on port B for rollback. Every deployment therefore has to stop an old process on its target port.
    let previous: AppSpec = { version: 'v0', ...setting, runId };
    spawnTracked([process.execPath, Fixture, `--port=${a}`, ...appFlags(previous)]).child.unref();
    spawnTracked([
      process.execPath,
      Fixture,
      `--port=${b}`,
      ...appFlags({ ...previous, version: 'v-1' }),
    ]).child.unref();
    await Promise.all([waitForPort(a!, 10_000), waitForPort(b!, 10_000)]);
    const load = startHammer(`${nginx.url}/`, { concurrency: LoadClients, rate: LoadRate, maxDurationMs: 600_000 });
    await load.started;
    const loadStartedAt = Date.now();
    const deployments: DeploymentRecord[] = [];
    await sleep(1000);
    for (let k = 1; k <= setting.deployments; k++) {
      const app: AppSpec = { version: `v${k}`, ...setting, runId };
      deployments.push(await deployOnce(system, app, previous, nginx.includePath, setting, loadStartedAt));
      previous = app;
    }
    await sleep(2500);
    const { startedAt, buckets } = await load.stop();
    const shift = startedAt - loadStartedAt;
    return {
      system: system.name,
      setting,
      deployments,
      buckets: buckets.map((bucket) => ({ ...bucket, t: bucket.t + shift })),
    };
  } finally {
    killRun(runId);
    await nginx.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

async function deployOnce(
  system: DeploySystem,
  app: AppSpec,
  previous: AppSpec,
  include: string,
  setting: Setting,
  zero: number,
): Promise<DeploymentRecord> {
  const at = () => Date.now() - zero;
  const marks = { stop: at(), start: 0, validate: 0, end: 0 };
  const codes: number[] = [await system.hook('ApplicationStop', app, previous)];
  marks.start = at();
  if (codes[0] === 0) codes.push(await system.hook('ApplicationStart', app, previous));
  marks.validate = at();
  if (!codes.some((c) => c !== 0)) codes.push(await system.hook('ValidateService', app, previous));
  marks.end = at();
  const reportedSuccess = codes.length === 3 && codes.every((c) => c === 0);
  // The 502 story plays out when the old process finally exits: look after it has had the time to.
  await sleep(Math.max(0, setting.shutdownMs - (marks.end - marks.stop)) + 1500);
  const live = parseIncludePort(fs.readFileSync(include, 'utf8'), 'set $service_url http://127.0.0.1:{port};');
  const nginxOnListener = live !== null && readListenSockets(live).length > 0;
  return { version: app.version, marks, reportedSuccess, nginxOnListener, wallMs: marks.end - marks.stop };
}

/** SIGKILL every process of this run: found by the --bench-run tag in its command line. */
function killRun(runId: string): void {
  for (const pid of listPids('/proc')) {
    const info = readProcessInfo(pid);
    if (info?.command.includes(`--bench-run=${runId}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }
}
