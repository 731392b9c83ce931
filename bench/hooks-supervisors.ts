// npm run bench:hooks (second part) — what each compiled hook costs beyond the app's own work under each supervisor,
// measured inside one real systemd (a systemd-nspawn container booted from this machine's root, as the systemd tests
// boot it): consecutive in-place deployments of the fixture app with `app.supervisor: systemd` and with
// `app.supervisor: direct` in the same rounds, alternating which goes first. Each hook runs as the CodeDeploy agent
// runs it, in a transient unit (systemd-run); overhead is bench/hooks.ts's: wall time minus shutdown (stop), minus
// time-to-bind (start), minus the settle wait (validate), plus a no-op stop paired with the bare runtime's `node -e 0`
// started the same way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RepoRoot } from '../build/paths.ts';
import { prepareRuntime } from '../build/runtime.ts';
import { findEntry, type HookEntry } from '../src/core/events.ts';
import { agentEnv, type HookRun } from '../src/lab/agent.ts';
import { bootContainer, type AgentOptions, type Bind, type Container } from '../src/lab/container.ts';
import { writeRevision } from '../src/lab/revision.ts';
import { appLog, at, bindMs, ok, portFreeAt, settledMs, type Sample } from './lib/hook-logs.ts';
import { describeMachine, formatOverheadTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 12);
/** No-op stops per round, each paired with a bare runtime start. */
const PairsPerRound = 3;
const StopDelayMs = 500;
const HooksDir = path.join(RepoRoot, 'hooks');
const FixtureApp = path.join(RepoRoot, 'test/fixtures/app.mjs');
/** Calls of each kind timed once from a process inside, as a hook makes them (spawnSync of systemctl). */
const ProbeCalls = 10;

type Supervisor = 'systemd' | 'direct';

/** One supervisor's deployments: its own app name, ports, state directory and samples. */
interface Lane {
  supervisor: Supervisor;
  app: string;
  port: number;
  idlePort: number;
  /**
   * How the agent's unit ends. systemd: as the agent runs today (its cgroup is killed). direct: KillMode=process,
   * the agent change proposed upstream and unmerged, the only way a directly started app outlives its start hook.
   */
  agent: AgentOptions;
  stateDir: string;
  previous: string | null;
  samples: { noop: Sample[]; stop: Sample[]; start: Sample[]; validate: Sample[] };
  noopRatio: number[];
  releaseLag: number[];
}

const hookNames = ['stop', 'start', 'validate'] as const satisfies HookEntry[];
for (const name of hookNames) {
  if (!fs.existsSync(path.join(HooksDir, name))) throw new Error(`no hooks/${name}: run "npm run build" first`);
}
const runtime = fs.realpathSync(prepareRuntime('x64'));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-supervisors-'));
// The hooks require the state directory's whole path to be root's and not writable by others.
fs.chmodSync(scratch, 0o755);

/** The repository (read-only), the scratch directory, and the runtime when it lives outside the repository. */
function binds(): Bind[] {
  const list: Bind[] = [{ host: RepoRoot, readOnly: true }, { host: scratch }];
  if (!runtime.startsWith(`${RepoRoot}/`)) list.push({ host: path.dirname(runtime), readOnly: true });
  return list;
}

function makeLane(supervisor: Supervisor, port: number, idlePort: number): Lane {
  const stateDir = path.join(scratch, `state-${supervisor}`);
  fs.mkdirSync(stateDir, { mode: 0o755 });
  return {
    supervisor,
    app: `bench-${supervisor}`,
    port,
    idlePort,
    agent: { killMode: supervisor === 'direct' ? 'process' : 'control-group' },
    stateDir,
    previous: null,
    samples: { noop: [], stop: [], start: [], validate: [] },
    noopRatio: [],
    releaseLag: [],
  };
}

/** A revision directory of the fixture app (or of an idle app that never starts) for one lane. */
function writeLaneRevision(lane: Lane, app: string, port: number, version: string): string {
  const dir = fs.mkdtempSync(path.join(scratch, `rev-${app}-${version}-`));
  fs.chmodSync(dir, 0o755);
  const command = [process.execPath, FixtureApp, '--port={port}', `--version-tag=${version}`];
  const config = {
    app: { name: app, supervisor: lane.supervisor, command: [...command, `--stop-delay=${StopDelayMs}`] },
    ports: [port],
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '200ms', timeout: '10s', requestTimeout: '2s' },
    stop: { grace: '15s' },
    start: { timeout: '10s' },
    stateDir: lane.stateDir,
  };
  writeRevision(dir, { config });
  return dir;
}

/** One hook of a revision, run from hooks/ inside the container as the agent runs it. */
function runHook(container: Container, lane: Lane, revision: string, hook: HookEntry, id: string): Promise<HookRun> {
  const who = { event: findEntry(hook).event, deploymentId: id, applicationName: 'fixture', groupName: 'test' };
  const env = { ...agentEnv({ ...who, groupId: 'g-1' }, {}), PORTPROOF_BUNDLE_ROOT: revision };
  const defined = Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return container.runHookAsAgent([path.join(HooksDir, hook)], Object.fromEntries(defined), lane.agent);
}

/** The bare runtime the hooks are built on, started as a hook is: in a transient unit, through nsenter. */
async function timeRuntime(container: Container): Promise<number> {
  const run = await container.runHookAsAgent([runtime, '-e', '0']);
  if (run.code !== 0) throw new Error(`${runtime} -e 0 failed in the container: ${run.stderr}`);
  return run.durationMs;
}

const deploymentId = (k: number) => `d-BENCH${k}`;

async function firstDeployment(container: Container, lane: Lane): Promise<void> {
  lane.previous = writeLaneRevision(lane, lane.app, lane.port, 'v0');
  ok(await runHook(container, lane, lane.previous, 'start', deploymentId(0)), `${lane.supervisor} v0 start`);
  ok(await runHook(container, lane, lane.previous, 'validate', deploymentId(0)), `${lane.supervisor} v0 validate`);
}

async function deployment(container: Container, lane: Lane, idle: string, k: number): Promise<void> {
  const appDir = path.join(lane.stateDir, lane.app);
  for (let i = 0; i < PairsPerRound; i++) {
    const noop = ok(await runHook(container, lane, idle, 'stop', 'd-BENCHIDLE'), `${lane.supervisor} no-op stop`);
    lane.samples.noop.push({ wall: noop.durationMs, appWork: 0 });
    lane.noopRatio.push(noop.durationMs / (await timeRuntime(container)));
  }
  // ApplicationStop runs from the previous revision, as CodeDeploy runs it.
  const stop = ok(await runHook(container, lane, lane.previous!, 'stop', deploymentId(k - 1)), `v${k - 1} stop`);
  const old = appLog(appDir, lane.port, `v${k - 1}`);
  const exited = at(old, 'Shutdown complete');
  lane.samples.stop.push({ wall: stop.durationMs, appWork: exited - at(old, 'Received SIGTERM') });
  lane.releaseLag.push(portFreeAt(appDir, deploymentId(k - 1)) - exited);
  const revision = writeLaneRevision(lane, lane.app, lane.port, `v${k}`);
  const start = ok(
    await runHook(container, lane, revision, 'start', deploymentId(k)),
    `${lane.supervisor} v${k} start`,
  );
  lane.samples.start.push({ wall: start.durationMs, appWork: bindMs(appLog(appDir, lane.port, `v${k}`)) });
  // As in bench/hooks.ts: healthy at once, and the settle wait is the operator's choice, not the hook's cost.
  const validate = ok(await runHook(container, lane, revision, 'validate', deploymentId(k)), `v${k} validate`);
  lane.samples.validate.push({ wall: validate.durationMs, appWork: settledMs(appDir, deploymentId(k)) });
  fs.rmSync(lane.previous!, { recursive: true, force: true });
  lane.previous = revision;
}

/**
 * Median ms of the systemctl calls the hooks make, each spawned from a node process inside as a hook spawns it: what
 * the systemd lane pays per call beyond the direct one.
 */
async function probeSystemctl(container: Container, unit: string): Promise<Record<string, number>> {
  const properties = ['LoadState', 'ActiveState', 'SubState', 'MainPID', 'InvocationID', 'NRestarts'];
  const more = ['ExecMainCode', 'ExecMainStatus', 'Result', 'ControlGroup', 'UnitFileState', 'FragmentPath'];
  const calls: Record<string, string[][]> = {
    show: [['show', ...[...properties, ...more].map((p) => `--property=${p}`), '--', unit]],
    'daemon-reload': [['daemon-reload']],
    'enable + disable': [
      ['enable', '--quiet', '--', unit],
      ['disable', '--quiet', '--', unit],
    ],
  };
  const script = `const { spawnSync } = require('node:child_process');
const out = {};
for (const [name, argvs] of Object.entries(${JSON.stringify(calls)})) {
  const times = [];
  for (let i = 0; i < ${ProbeCalls}; i++) {
    const t = performance.now();
    for (const args of argvs) spawnSync('systemctl', args, { stdio: 'ignore' });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  out[name] = times[Math.floor(times.length / 2)];
}
console.log(JSON.stringify(out));`;
  const run = ok(await container.runHookAsAgent([runtime, '-e', script]), 'the systemctl probe');
  return JSON.parse(run.verdict) as Record<string, number>;
}

const lanes = [makeLane('systemd', 8081, 8085), makeLane('direct', 8091, 8095)];
let container: Container | null = null;
// Ctrl-C or a kill: the machine is powered off before the bench exits.
const interrupt = (signal: NodeJS.Signals) => {
  void (container?.poweroff() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);
try {
  container = await bootContainer({ name: 'pp-bench', binds: binds() });
  const idle = new Map(lanes.map((lane) => [lane, writeLaneRevision(lane, `${lane.app}-idle`, lane.idlePort, 'v1')]));
  for (const lane of lanes) await firstDeployment(container, lane);
  const runtimeStart: number[] = [];
  for (let k = 1; k <= Rounds; k++) {
    console.log(`deployment ${k}/${Rounds} (systemd and direct, in a systemd-nspawn container)`);
    runtimeStart.push(await timeRuntime(container));
    // Both supervisors in every round, alternating which goes first, so a noisy moment hits both alike.
    for (const lane of k % 2 === 0 ? [...lanes].reverse() : lanes) {
      await deployment(container, lane, idle.get(lane)!, k);
    }
  }
  for (const lane of lanes) await runHook(container, lane, lane.previous!, 'stop', 'd-BENCHEND');
  const systemctl = await probeSystemctl(container, `portproof-${lanes[0]!.app}@${lanes[0]!.port}.service`);

  const node = summarize(runtimeStart);
  const rows = lanes.flatMap((lane) =>
    Object.entries({
      'ApplicationStop, nothing listening': lane.samples.noop,
      [`ApplicationStop (app shuts down in ${StopDelayMs} ms)`]: lane.samples.stop,
      'ApplicationStart (app binds)': lane.samples.start,
      'ValidateService (in-place, healthy at once)': lane.samples.validate,
    }).map(([hook, list]) => ({
      supervisor: lane.supervisor,
      hook,
      wall: summarize(list.map((s) => s.wall)).median,
      appWork: summarize(list.map((s) => s.appWork)).median,
      overhead: summarize(list.map((s) => s.wall - s.appWork)),
    })),
  );
  console.log('');
  console.log(
    formatOverheadTable(
      'supervisor',
      rows.map((r) => ({ ...r, label: r.supervisor })),
      node.median,
    ),
  );
  console.log(
    `\nnode -e 0 with the same runtime, run as a hook in the same rounds: ${node.median.toFixed(0)} ms (median)`,
  );
  const summary = lanes.map((lane) => ({
    supervisor: lane.supervisor,
    noopVsNode: summarize(lane.noopRatio),
    portFreeAfterExitMs: summarize(lane.releaseLag),
  }));
  for (const s of summary) {
    const lag = s.portFreeAfterExitMs;
    console.log(
      `${s.supervisor}: no-op ApplicationStop ${s.noopVsNode.median.toFixed(2)}× node -e 0 (paired, median of ` +
        `${s.noopVsNode.n}); port free seen ${lag.median.toFixed(0)} ms (median), ${lag.p90.toFixed(0)} ms (p90) ` +
        'after the old process logged its exit',
    );
  }
  const probe = Object.entries(systemctl).map(([call, ms]) => `${call} ${ms.toFixed(1)} ms`);
  console.log(`one systemctl call from a process inside (median of ${ProbeCalls}): ${probe.join(', ')}`);
  const out = path.join(import.meta.dirname, 'results/hooks-supervisors.json');
  const samples = Object.fromEntries(
    lanes.map((lane) => [lane.supervisor, { ...lane.samples, noopRatio: lane.noopRatio, releaseLag: lane.releaseLag }]),
  );
  const result = {
    machine: { ...describeMachine(), container: 'systemd-nspawn, booted from / (--volatile=yes)' },
    rounds: Rounds,
    stopDelayMs: StopDelayMs,
    hooks: rows,
    runtimeStartMs: node,
    systemctlCallMs: systemctl,
    summary,
    samples,
  };
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log('written to bench/results/hooks-supervisors.json');
} finally {
  // Powered off whatever happened: units, apps and the machine end with it.
  await container?.poweroff();
  fs.rmSync(scratch, { recursive: true, force: true });
}
