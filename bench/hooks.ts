// npm run bench:hooks — what each compiled hook costs beyond the app's own work, over consecutive in-place
// deployments of the fixture app: wall time minus shutdown (stop), minus time-to-bind (start), minus
// time-to-healthy (validate), and how soon after the old process exits the stop hook sees the port free.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareRuntime } from '../build/runtime.ts';
import { makeRevision, type HookRun, type Revision } from '../test/support/deployment.ts';
import { findFreePort } from '../test/support/ports.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 12);
const StopDelayMs = 500;

type Sample = { wall: number; appWork: number };

/** The fixture app's log lines of one version: [epoch ms, message]. */
function appLog(stateDir: string, port: number, version: string): Array<[number, string]> {
  const text = fs.readFileSync(path.join(stateDir, 'bench', `app-${port}.log`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.includes(`[fixture ${version}]`))
    .map((line) => [Date.parse(line.slice(0, 24)), line.slice(line.indexOf(']') + 2)]);
}

function at(lines: Array<[number, string]>, prefix: string): number {
  const found = lines.find(([, message]) => message.startsWith(prefix));
  if (!found) throw new Error(`the fixture app never logged "${prefix}"`);
  return found[0];
}

/** When the stop hook logged 'port free' for this deployment (the log's ISO time, as epoch ms). */
function portFreeAt(stateDir: string, deploymentId: string): number {
  const entries = fs.readFileSync(path.join(stateDir, 'bench', 'hooks.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const entry = entries.find((e) => e.msg === 'port free' && e.deploymentId === deploymentId && e.lifecycleEvent === 'ApplicationStop');
  if (!entry) throw new Error(`no 'port free' entry for ${deploymentId} in hooks.log`);
  return Date.parse(entry.time);
}

function ok(run: HookRun, what: string): HookRun {
  if (run.code !== 0) throw new Error(`${what} failed: ${run.verdict}\n${run.stdout.slice(-1500)}`);
  return run;
}

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-hooks-'));
const port = await findFreePort();
const revisions: Revision[] = [];
const revisionFor = (k: number) => {
  const revision = makeRevision({ ports: [port], versionTag: `v${k}`, appFlags: [`--stop-delay=${StopDelayMs}`], stateDir, app: { name: 'bench' } }, `d-BENCH${k}`);
  revisions.push(revision);
  return revision;
};
const samples = { noop: [] as Sample[], stop: [] as Sample[], start: [] as Sample[], validate: [] as Sample[] };
const releaseLag: number[] = [];
// The bare runtime the hooks are built on, timed in the same rounds: how much of the overhead is Node's own start.
const runtime = prepareRuntime('x64');
const runtimeStart: number[] = [];
const timeRuntime = () => {
  const startedAt = performance.now();
  spawnSync(runtime, ['-e', '0'], { stdio: 'ignore' });
  runtimeStart.push(performance.now() - startedAt);
};

try {
  let previous = revisionFor(0);
  ok(await previous.run('start'), 'v0 start');
  ok(await previous.run('validate'), 'v0 validate');
  const idle = makeRevision({ ports: [await findFreePort()], stateDir, app: { name: 'bench-idle' } });
  revisions.push(idle);
  for (let k = 1; k <= Rounds; k++) {
    console.log(`deployment ${k}/${Rounds}`);
    timeRuntime();
    samples.noop.push({ wall: ok(await idle.run('stop'), 'no-op stop').durationMs, appWork: 0 });
    // ApplicationStop runs from the previous revision, as CodeDeploy runs it.
    const stop = ok(await previous.run('stop'), `v${k - 1} stop`);
    const old = appLog(stateDir, port, `v${k - 1}`);
    const exited = at(old, 'Shutdown complete');
    samples.stop.push({ wall: stop.durationMs, appWork: exited - at(old, 'Received SIGTERM') });
    releaseLag.push(portFreeAt(stateDir, `d-BENCH${k - 1}`) - exited);
    const revision = revisionFor(k);
    const start = ok(await revision.run('start'), `v${k} start`);
    const bound = appLog(stateDir, port, `v${k}`).find(([, m]) => m.startsWith('Started on port'));
    samples.start.push({ wall: start.durationMs, appWork: Number(/ in (\d+(?:\.\d+)?) ms/.exec(bound?.[1] ?? '')?.[1] ?? NaN) });
    // The fixture answers health as soon as it listens: time-to-healthy is nil, the wall time is all overhead.
    samples.validate.push({ wall: ok(await revision.run('validate'), `v${k} validate`).durationMs, appWork: 0 });
    previous = revision;
  }
  await previous.run('stop');

  const rows = Object.entries({
    'ApplicationStop, nothing listening': samples.noop,
    [`ApplicationStop (app shuts down in ${StopDelayMs} ms)`]: samples.stop,
    'ApplicationStart (app binds)': samples.start,
    'ValidateService (in-place, healthy at once)': samples.validate,
  }).map(([name, list]) => {
    const overhead = summarize(list.map((s) => s.wall - s.appWork));
    return { name, wall: summarize(list.map((s) => s.wall)).median, appWork: summarize(list.map((s) => s.appWork)).median, overhead };
  });
  const lag = summarize(releaseLag);
  const node = summarize(runtimeStart);
  console.log('');
  console.log(formatTable(['hook', 'wall ms', "app's own work ms", 'overhead ms (median)', 'overhead p90', 'overhead beyond node -e 0'], rows.map((r) => [r.name, r.wall.toFixed(0), r.appWork.toFixed(0), r.overhead.median.toFixed(0), r.overhead.p90.toFixed(0), (r.overhead.median - node.median).toFixed(0)])));
  console.log(`\nnode -e 0 with the same runtime, in the same rounds: ${node.median.toFixed(0)} ms (median)`);
  console.log(`\nport free seen ${lag.median.toFixed(0)} ms (median), ${lag.p90.toFixed(0)} ms (p90) after the old process logged its exit; ${Rounds} deployments`);
  const out = path.join(import.meta.dirname, 'results/hooks.json');
  fs.writeFileSync(out, `${JSON.stringify({ machine: describeMachine(), rounds: Rounds, stopDelayMs: StopDelayMs, hooks: rows, runtimeStartMs: node, portFreeAfterExitMs: lag, samples, releaseLag }, null, 2)}\n`);
  console.log('written to bench/results/hooks.json');
} finally {
  for (const revision of revisions) fs.rmSync(revision.dir, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}
