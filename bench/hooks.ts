// npm run bench:hooks — what each compiled hook costs beyond the app's own work, over consecutive in-place
// deployments of the fixture app, for the baseline build (before) and this checkout's (after) in the same rounds:
// wall time minus shutdown (stop), minus time-to-bind (start), minus time-to-healthy (validate); a no-op stop paired
// with the bare runtime's `node -e 0` run right after it; and how soon after the old process exits the stop hook
// sees the port free.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distHooksDir } from '../build/paths.ts';
import { prepareRuntime } from '../build/runtime.ts';
import { findFreePort } from '../src/lab/ports.ts';
import { writeRevision } from '../src/lab/revision.ts';
import { openRevision, type Revision } from '../src/lab/agent.ts';
import { BaselineCommit, baselineHooksDir } from './lib/baseline.ts';
import { appLog, at, bindMs, ok, portFreeAt, settledMs, type Sample } from './lib/hook-logs.ts';
import { describeMachine, formatOverheadTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 12);
/** No-op stops per round, each paired with a bare runtime start. */
const PairsPerRound = 3;
const StopDelayMs = 500;

/** One build's deployments: its own port, state directory and samples. */
interface Lane {
  name: string;
  hooksDir: string;
  stateDir: string;
  port: number;
  revisions: Revision[];
  previous: Revision | null;
  idle: Revision | null;
  samples: { noop: Sample[]; stop: Sample[]; start: Sample[]; validate: Sample[] };
  noopRatio: number[];
  releaseLag: number[];
}

// The bare runtime the hooks are built on, started as a hook is (pipes, waiting for both to close).
const runtime = prepareRuntime('x64');
function timeRuntime(): Promise<number> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(runtime, ['-e', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - startedAt));
  });
}

/** Where the hooks keep the app's logs and hooks.log: <stateDir>/<app.name>. */
function appDir(lane: Lane): string {
  return path.join(lane.stateDir, 'bench');
}

async function makeLane(name: string, hooksDir: string): Promise<Lane> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-hooks-'));
  const samples = { noop: [], stop: [], start: [], validate: [] };
  return {
    name,
    hooksDir,
    stateDir,
    port: await findFreePort(),
    revisions: [],
    previous: null,
    idle: null,
    samples,
    noopRatio: [],
    releaseLag: [],
  };
}

const FixtureApp = path.resolve(import.meta.dirname, '../test/fixtures/app.mjs');

/** A revision of the fixture app (or of an idle app that never starts) run by one lane's build of the hooks. */
function makeRevision(
  lane: Lane,
  app: { name: string; port: number; version: string },
  deploymentId: string,
): Revision {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-rev-'));
  const command = [
    process.execPath,
    FixtureApp,
    '--port={port}',
    `--version-tag=${app.version}`,
    `--stop-delay=${StopDelayMs}`,
  ];
  const config = {
    app: { name: app.name, command },
    ports: [app.port],
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '200ms', timeout: '10s', requestTimeout: '2s' },
    stop: { grace: '15s' },
    start: { timeout: '10s' },
    stateDir: lane.stateDir,
  };
  writeRevision(dir, { config });
  const revision = openRevision(dir, {
    hookArgv: (entry) => [path.join(lane.hooksDir, entry)],
    deploymentId,
    applicationName: 'fixture',
    groupName: 'test',
    groupId: 'g-1',
  });
  lane.revisions.push(revision);
  return revision;
}

function revisionFor(lane: Lane, k: number): Revision {
  return makeRevision(lane, { name: 'bench', port: lane.port, version: `v${k}` }, `d-BENCH${k}`);
}

async function firstDeployment(lane: Lane): Promise<void> {
  lane.previous = revisionFor(lane, 0);
  ok(await lane.previous.run('start'), `${lane.name} v0 start`);
  ok(await lane.previous.run('validate'), `${lane.name} v0 validate`);
  lane.idle = makeRevision(lane, { name: 'bench-idle', port: await findFreePort(), version: 'v1' }, 'd-BENCHIDLE');
}

async function deployment(lane: Lane, k: number): Promise<void> {
  for (let i = 0; i < PairsPerRound; i++) {
    const noop = ok(await lane.idle!.run('stop'), `${lane.name} no-op stop`).durationMs;
    lane.samples.noop.push({ wall: noop, appWork: 0 });
    lane.noopRatio.push(noop / (await timeRuntime()));
  }
  // ApplicationStop runs from the previous revision, as CodeDeploy runs it.
  const stop = ok(await lane.previous!.run('stop'), `${lane.name} v${k - 1} stop`);
  const old = appLog(appDir(lane), lane.port, `v${k - 1}`);
  const exited = at(old, 'Shutdown complete');
  lane.samples.stop.push({ wall: stop.durationMs, appWork: exited - at(old, 'Received SIGTERM') });
  lane.releaseLag.push(portFreeAt(appDir(lane), `d-BENCH${k - 1}`) - exited);
  const revision = revisionFor(lane, k);
  const start = ok(await revision.run('start'), `${lane.name} v${k} start`);
  lane.samples.start.push({ wall: start.durationMs, appWork: bindMs(appLog(appDir(lane), lane.port, `v${k}`)) });
  // The fixture answers health as soon as it listens: time-to-healthy is nil; the health.settle wait (5 s by default)
  // is a wait the operator chose, not the hook's cost: the rest of the wall time is overhead.
  lane.samples.validate.push({
    wall: ok(await revision.run('validate'), `${lane.name} v${k} validate`).durationMs,
    appWork: settledMs(appDir(lane), `d-BENCH${k}`),
  });
  lane.previous = revision;
}

const lanes = [
  await makeLane(`before (${BaselineCommit})`, baselineHooksDir('x64')),
  await makeLane('after (this checkout)', distHooksDir('x64')),
];
const runtimeStart: number[] = [];
try {
  for (const lane of lanes) await firstDeployment(lane);
  for (let k = 1; k <= Rounds; k++) {
    console.log(`deployment ${k}/${Rounds}`);
    runtimeStart.push(await timeRuntime());
    // Both builds in every round, alternating which goes first, so a noisy moment hits both alike.
    for (const lane of k % 2 === 0 ? [...lanes].reverse() : lanes) await deployment(lane, k);
  }
  for (const lane of lanes) await lane.previous?.run('stop');

  const node = summarize(runtimeStart);
  const rows = lanes.flatMap((lane) =>
    Object.entries({
      'ApplicationStop, nothing listening': lane.samples.noop,
      [`ApplicationStop (app shuts down in ${StopDelayMs} ms)`]: lane.samples.stop,
      'ApplicationStart (app binds)': lane.samples.start,
      'ValidateService (in-place, healthy at once)': lane.samples.validate,
    }).map(([hook, list]) => {
      const overhead = summarize(list.map((s) => s.wall - s.appWork));
      return {
        build: lane.name,
        hook,
        wall: summarize(list.map((s) => s.wall)).median,
        appWork: summarize(list.map((s) => s.appWork)).median,
        overhead,
      };
    }),
  );
  console.log('');
  console.log(
    formatOverheadTable(
      'build',
      rows.map((r) => ({ ...r, label: r.build })),
      node.median,
    ),
  );
  console.log(`\nnode -e 0 with the same runtime, in the same rounds: ${node.median.toFixed(0)} ms (median)`);
  const summary = lanes.map((lane) => ({
    build: lane.name,
    noopVsNode: summarize(lane.noopRatio),
    portFreeAfterExitMs: summarize(lane.releaseLag),
  }));
  for (const s of summary) {
    const lag = s.portFreeAfterExitMs;
    console.log(
      `${s.build}: no-op ApplicationStop ${s.noopVsNode.median.toFixed(2)}× node -e 0 (paired, median of ` +
        `${s.noopVsNode.n}); port free seen ${lag.median.toFixed(0)} ms (median), ${lag.p90.toFixed(0)} ms (p90) ` +
        'after the old process logged its exit',
    );
  }
  const out = path.join(import.meta.dirname, 'results/hooks.json');
  const samples = Object.fromEntries(
    lanes.map((lane) => [lane.name, { ...lane.samples, noopRatio: lane.noopRatio, releaseLag: lane.releaseLag }]),
  );
  const machine = describeMachine();
  const result = { machine, baseline: BaselineCommit, rounds: Rounds, stopDelayMs: StopDelayMs, hooks: rows };
  fs.writeFileSync(out, `${JSON.stringify({ ...result, runtimeStartMs: node, summary, samples }, null, 2)}\n`);
  console.log('written to bench/results/hooks.json');
} finally {
  for (const lane of lanes) {
    for (const revision of lane.revisions) fs.rmSync(revision.dir, { recursive: true, force: true });
    fs.rmSync(lane.stateDir, { recursive: true, force: true });
  }
}
