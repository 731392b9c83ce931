// npm run bench:owners — who owns a port: portproof's fast path and full scan side by side with ss and lsof,
// on the machine as it is, with ~500 extra processes holding ~20,000 fds, and then with 100,000 TIME_WAIT rows in
// the TCP table as well (a web server without keep-alive: a row per request for a minute).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  checkTreeOwnsPort,
  findListeners,
  listPids,
  readProcessInfo,
  type ProcessIdentity,
} from '../src/core/procfs/index.ts';
import { waitForPort } from '../src/lab/net.ts';
import { countTimeWaitRows, fillTimeWait } from '../src/lab/time-wait.ts';
import { findFreePort } from '../src/lab/ports.ts';
import { spawnTracked, stopAll } from '../src/lab/processes.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';

const FixtureApp = path.resolve(import.meta.dirname, '../test/fixtures/app.mjs');
const TimeWaitRows = 100_000;

const Rounds = Number(process.env.BENCH_ROUNDS ?? 40);
const LoadProcesses = 500;
const FdsPerProcess = 40;

type Method = { name: string; run: () => void };

function methodsFor(port: number, root: ProcessIdentity): Method[] {
  const exec = (cmd: string, args: string[]) => () => {
    const result = spawnSync(cmd, args, { encoding: 'utf8' });
    if (result.error) throw new Error(`${cmd}: ${result.error.message} (apt-get install -y iproute2 lsof)`);
  };
  return [
    {
      name: 'portproof fast path (tree owns port)',
      run: () => {
        if (!checkTreeOwnsPort(root, port).owned) throw new Error('fast path did not prove ownership');
      },
    },
    {
      name: 'portproof full scan (findListeners)',
      run: () => {
        if (findListeners(port).listeners.length === 0) throw new Error('no listener found');
      },
    },
    { name: 'ss -ltnp', run: exec('ss', ['-ltnpH', `sport = :${port}`]) },
    { name: `lsof -nP -iTCP:${port} -sTCP:LISTEN`, run: exec('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN']) },
  ];
}

function measure(methods: Method[]): Record<string, ReturnType<typeof summarize>> {
  const samples = new Map(methods.map((m) => [m.name, [] as number[]]));
  for (const m of methods) m.run(); // warm up: page cache, passwd cache, JIT
  for (let round = 0; round < Rounds; round++) {
    // Interleaved, so a noisy moment on the shared machine hits every method alike.
    for (const m of methods) {
      const start = performance.now();
      m.run();
      samples.get(m.name)!.push(performance.now() - start);
    }
  }
  return Object.fromEntries([...samples].map(([name, s]) => [name, summarize(s)]));
}

async function startLoad(): Promise<ChildProcess[]> {
  const code = [
    'import socket, sys, time',
    `keep = [socket.socket() for _ in range(${FdsPerProcess})]`,
    "sys.stdout.write('ready\\n'); sys.stdout.flush()",
    'time.sleep(900)',
    '',
  ].join('\n');
  const children: ChildProcess[] = [];
  for (let i = 0; i < LoadProcesses; i++) {
    const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    children.push(child);
  }
  await Promise.all(children.map((c) => new Promise((resolve) => c.stdout!.once('data', resolve))));
  return children;
}

function countFds(): { processes: number; fds: number } {
  let processes = 0;
  let fds = 0;
  for (const pid of listPids('/proc')) {
    try {
      fds += fs.readdirSync(`/proc/${pid}/fd`).length;
      processes += 1;
    } catch {
      // Gone or unreadable: not counted.
    }
  }
  return { processes, fds };
}

async function main(): Promise<void> {
  const port = await findFreePort();
  const app = spawnTracked([process.execPath, FixtureApp, `--port=${port}`]);
  const load: ChildProcess[] = [];
  try {
    await waitForPort(port, 5000);
    const info = readProcessInfo(app.pid)!;
    const methods = methodsFor(port, info);
    const results: Record<string, unknown> = {};
    const rows: (string | number)[][] = [];
    const loaded = `+${LoadProcesses} processes, ${LoadProcesses * FdsPerProcess} fds`;
    const busy = `${loaded}, +${TimeWaitRows} TIME_WAIT rows`;
    for (const scenario of ['this machine as it is', loaded, busy]) {
      if (scenario === loaded) load.push(...(await startLoad()));
      if (scenario === busy) await fillTimeWait(TimeWaitRows, 180_000);
      const host = { ...countFds(), timeWait: countTimeWaitRows() };
      const stats = measure(methods);
      results[scenario] = { host, stats };
      for (const [name, s] of Object.entries(stats))
        rows.push([
          scenario,
          `${host.processes} procs / ${host.fds} fds / ${host.timeWait} tw`,
          name,
          s.median.toFixed(2),
          s.p90.toFixed(2),
          s.n,
        ]);
      const fast = stats[methods[0]!.name]!.median;
      const full = stats[methods[1]!.name]!.median;
      const ratio = (ours: number, peer: string) => (ours / stats[peer]!.median).toFixed(2);
      rows.push([
        scenario,
        '',
        `ratios: fast/ss ${ratio(fast, methods[2]!.name)}, full/lsof ${ratio(full, methods[3]!.name)}`,
        '',
        '',
        '',
      ]);
    }
    console.log(formatTable(['load', 'host', 'method', 'median ms', 'p90 ms', 'n'], rows));
    const out = path.resolve(import.meta.dirname, 'results/owners.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify({ machine: describeMachine(), rounds: Rounds, results }, null, 2)}\n`);
    console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
  } finally {
    for (const child of load) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await stopAll();
  }
}

await main();
