// npm run bench:drain — what a stop does to the users of the version it stops. Blue/green deployments under mixed
// traffic through a private nginx (short requests, 5 s uploads, slow downloads, SSE, websockets): the new version
// starts, nginx switches (its old worker keeps what it carries), and the old version is stopped by portproof (drain),
// the shell recipe, a stop without drain (nginx alone) and kamal-proxy's semantics (modelled). Counted per class:
// completed / cut / failed; and what the classification costs (`ss`), idle and busy.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { drainPort } from '../src/core/drain/drain-port.ts';
import { readConnections } from '../src/core/drain/read-connections.ts';
import { startHammer } from '../src/lab/hammer.ts';
import { waitForPort } from '../src/lab/net.ts';
import { startNginx } from '../src/lab/nginx.ts';
import { findFreePorts } from '../src/lab/ports.ts';
import { spawnTracked, stopAll } from '../src/lab/processes.ts';
import { openExchange, type Exchange, type Outcome, type TrafficKind } from '../src/lab/traffic.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';
import { kamalModel, makeWorkDir, noDrain, portproof, shellRecipe, type StopSystem } from './drain/systems.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 2);
/** Short, so the bench stays within minutes: the streams are held this long by portproof and the kamal model. */
const DrainMs = 8000;
/** Each round's long traffic: count per kind, and how long one lasts. */
const Mix: Array<[TrafficKind, number, { ms?: number; kb?: number; everyMs?: number }]> = [
  ['upload', 3, { ms: 5000 }],
  ['download', 3, { ms: 6000, kb: 96 }],
  ['events', 2, { everyMs: 300 }],
  ['websocket', 2, { everyMs: 300 }],
];
const ShortRate = 100;
const FixtureApp = path.resolve(import.meta.dirname, '../test/fixtures/app.mjs');

/** A server block for websockets and unbuffered streams both ways, proxying to the include's $service_url. */
function renderServers(listen: number) {
  return (include: string) => `  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${listen};
    location / {
      include ${include};
      proxy_pass $service_url;
      proxy_set_header Host $host;
      proxy_connect_timeout 2s;
      proxy_max_temp_file_size 0;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 60s;
      proxy_send_timeout 60s;
    }
  }`;
}

type Counts = Record<Outcome, number>;
interface RoundResult {
  system: string;
  byKind: Record<string, Counts>;
  verdict: string | null;
  stopMs: number;
}

const zero = (): Counts => ({ completed: 0, cut: 0, failed: 0 });

/** One deployment: v1 live on A with traffic under way, v2 started on B, nginx switched, A stopped by `system`. */
async function runRound(system: StopSystem, workDir: string): Promise<RoundResult> {
  const [listen, a, b] = (await findFreePorts(3)) as [number, number, number];
  const nginx = await startNginx({ listenPort: listen, livePort: a, servers: renderServers(listen) });
  try {
    const old = spawnTracked([process.execPath, FixtureApp, `--port=${a}`, '--version-tag=v1']);
    await waitForPort(a, 10_000);
    const short = startHammer(`${nginx.url}/`, { concurrency: 4, rate: ShortRate, maxDurationMs: 120_000 });
    await short.started;
    const exchanges: Exchange[] = Mix.flatMap(([kind, n, options]) =>
      Array.from({ length: n }, () => openExchange(nginx.url, kind, options)),
    );
    await Promise.all(exchanges.map((e) => e.started));
    await sleep(1500);
    spawnTracked([process.execPath, FixtureApp, `--port=${b}`, '--version-tag=v2']).child.unref();
    await waitForPort(b, 10_000);
    nginx.writeInclude(b);
    await nginx.reload();
    const startedAt = Date.now();
    const { verdict } = await system.stop({
      port: a,
      ports: [a, b],
      app: old,
      nginx,
      exchanges,
      drainMs: DrainMs,
      workDir,
    });
    const stopMs = Date.now() - startedAt;
    // What was not cut finishes by itself (uploads, downloads); streams still open are closed by their clients.
    const finite = exchanges.filter((e) => e.kind === 'upload' || e.kind === 'download').map((e) => e.outcome);
    await Promise.race([Promise.all(finite), sleep(15_000)]);
    await sleep(500);
    for (const e of exchanges) e.close();
    const counts = await short.stop();
    const byKind: Record<string, Counts> = { short: { completed: counts.ok, cut: 0, failed: counts.failed } };
    for (const [e, outcome] of await Promise.all(exchanges.map(async (e) => [e, await e.outcome] as const))) {
      byKind[e.kind] ??= zero();
      byKind[e.kind]![outcome] += 1;
    }
    return { system: system.name, byKind, verdict, stopMs };
  } finally {
    await stopAll();
    await nginx.stop();
  }
}

/** The classification's cost: `ss` with and without owners, and /proc/net/tcp (which cannot classify), each n times. */
async function measureClassification(n: number) {
  const [port] = (await findFreePorts(1)) as [number];
  spawnTracked([process.execPath, FixtureApp, `--port=${port}`]);
  await waitForPort(port, 10_000);
  const agent = new http.Agent({ keepAlive: true });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 2; i++)
    await new Promise((resolve) => http.get(`${base}/`, { agent }, (res) => res.resume().on('end', resolve)));
  await sleep(1200);
  const time = async (f: () => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await f();
      samples.push(performance.now() - t);
    }
    return summarize(samples);
  };
  const quiet = { say: () => {}, begin: () => {}, progress: () => {} };
  const idleStop = await time(() => drainPort(port, { drainMs: 30_000, untilMs: Date.now() + 30_000, out: quiet }));
  const withOwners = await time(() => readConnections(port, true));
  const without = await time(() => readConnections(port, false));
  const procNetTcp = await time(() => [fs.readFileSync('/proc/net/tcp'), fs.readFileSync('/proc/net/tcp6')]);
  // The same looks with the mixed traffic's connections open.
  const streams = [
    ...Array.from({ length: 10 }, () => openExchange(base, 'events', { everyMs: 300 })),
    ...Array.from({ length: 10 }, () => openExchange(base, 'websocket', { everyMs: 300 })),
  ];
  await Promise.all(streams.map((s) => s.started));
  const busyOwners = await time(() => readConnections(port, true));
  const busyDrain = await time(() => drainPort(port, { drainMs: 0, untilMs: Date.now(), out: quiet }));
  for (const s of streams) s.close();
  agent.destroy();
  await stopAll();
  return { idleStop, withOwners, without, procNetTcp, busyOwners, busyDrain };
}

const systems = [portproof, shellRecipe, noDrain, kamalModel];
const rounds: RoundResult[] = [];
for (const system of systems) {
  const workDir = makeWorkDir();
  try {
    for (let r = 0; r < Rounds; r++) {
      console.log(`${system.name}: deployment ${r + 1} of ${Rounds}`);
      const result = await runRound(system, workDir);
      if (result.verdict) console.log(`  ${result.verdict}`);
      rounds.push(result);
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const kinds = ['short', 'upload', 'download', 'events', 'websocket'];
const table = systems.flatMap((system) => {
  const mine = rounds.filter((r) => r.system === system.name);
  return kinds.map((kind) => {
    const sum = zero();
    for (const r of mine) for (const k of ['completed', 'cut', 'failed'] as const) sum[k] += r.byKind[kind]?.[k] ?? 0;
    return [system.name, kind, sum.completed, sum.cut, sum.failed];
  });
});
const stopTimes = systems.map((s) => {
  const times = rounds.filter((r) => r.system === s.name).map((r) => r.stopMs);
  return [s.name, summarize(times).median.toFixed(0)];
});
// Every stream portproof cut is counted in its verdict: compare the clients' count with the verdict's.
const verdictCuts = rounds
  .filter((r) => r.verdict)
  .map((r) => {
    const said = [...(r.verdict!.split('cut: ')[1] ?? '').matchAll(/(\d+) (?:two-way )?streams?/g)];
    const counted = said.reduce((sum, m) => sum + Number(m[1]), 0);
    const seen = (r.byKind.events?.cut ?? 0) + (r.byKind.websocket?.cut ?? 0);
    return { counted, seen };
  });
console.log(`\n${formatTable(['system', 'traffic', 'completed', 'cut', 'failed'], table)}\n`);
console.log(formatTable(['system', 'stop wall ms (median)'], stopTimes));
console.log(`streams cut and counted in portproof's verdicts: ${JSON.stringify(verdictCuts)}`);
const cost = await measureClassification(20);
const ms = (s: { median: number; p90: number }) => `${s.median.toFixed(1)} ms (p90 ${s.p90.toFixed(1)})`;
console.log(`\nclassification, median of 20 (2 idle keep-alive connections):`);
console.log(`  drain on an idle stop (one ss -tinHO look + classify): ${ms(cost.idleStop)}`);
console.log(`  ss -tinpHO alone: ${ms(cost.withOwners)}; ss -tinHO (no owners): ${ms(cost.without)}`);
console.log(`  /proc/net/tcp + tcp6, read only (no tcp_info, no filter): ${ms(cost.procNetTcp)}`);
console.log(`  with 20 streams open: ss -tinpHO ${ms(cost.busyOwners)}; one look + classify ${ms(cost.busyDrain)}`);

const outDir = path.resolve(import.meta.dirname, 'results');
fs.mkdirSync(outDir, { recursive: true });
const result = { machine: describeMachine(), drainMs: DrainMs, mix: Mix, shortRate: ShortRate, rounds, table, cost };
fs.writeFileSync(path.join(outDir, 'drain.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log('written to bench/results/drain.json');
