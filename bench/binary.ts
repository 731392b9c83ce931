// npm run bench:binary — the compiled hooks before (the baseline commit, built once into .cache/) and after (this
// checkout's dist/), side by side in one run: size (raw and zip-deflated) and cold start of `--version`, `--check` and
// a no-op ApplicationStop, each against `node -e 0` of the same pinned runtime run right after it (paired ratio).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { Arches, distHooksDir, HookNames } from '../build/paths.ts';
import { prepareRuntime } from '../build/runtime.ts';
import { findEvent, type LifecycleEvent } from '../src/core/events.ts';
import { writeRevision } from '../src/lab/revision.ts';
import { agentEnv } from '../src/lab/agent.ts';
import { BaselineCommit, baselineHooksDir } from './lib/baseline.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 30);
const QemuRounds = Math.max(3, Math.round(Rounds / 5));
const MiB = 2 ** 20;

type Command = { name: string; argv: string[]; rounds: number; env?: NodeJS.ProcessEnv };

/** CodeDeploy's environment for a hook run, as the agent sets it. */
const codeDeployEnv = (event: LifecycleEvent) =>
  agentEnv({ event, deploymentId: 'd-BENCHBIN', applicationName: 'bench', groupName: 'bench', groupId: 'g-bench' });

function requireBuilt(): void {
  for (const arch of Arches) {
    for (const name of HookNames) {
      if (!fs.existsSync(path.join(distHooksDir(arch), name)))
        throw new Error(`dist/linux-${arch}/hooks/${name} is missing: run npm run build first`);
    }
  }
}

/** The two builds compared: where each keeps its hooks per arch. */
const builds = [
  { name: `before (${BaselineCommit})`, hooksDir: baselineHooksDir },
  { name: 'after (this checkout)', hooksDir: (arch: (typeof Arches)[number]) => distHooksDir(arch) },
];

function sizes() {
  return builds.flatMap((build) =>
    Arches.flatMap((arch) =>
      HookNames.map((name) => {
        const bytes = fs.readFileSync(path.join(build.hooksDir(arch), name));
        // zip's default method: raw deflate at level 6.
        return {
          build: build.name,
          binary: `linux-${arch}/hooks/${name}`,
          rawMiB: bytes.length / MiB,
          deflatedMiB: zlib.deflateRawSync(bytes, { level: 6 }).length / MiB,
        };
      }),
    ),
  );
}

/** A revision directory with a build's x64 hooks and a real config to read: in-place, nothing listening. */
function checkRevision(hooksDir: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-binary-'));
  const config = {
    app: { name: 'bench', command: ['sleep', '1000'] },
    ports: [1],
    health: { url: 'http://127.0.0.1:{port}/' },
    stateDir: path.join(dir, 'state'),
  };
  writeRevision(dir, { config, hooksDir });
  return dir;
}

function qemu(): string[] | null {
  const emulator = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => fs.existsSync(p));
  return emulator && fs.existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1')
    ? [emulator, '-L', '/usr/aarch64-linux-gnu']
    : null;
}

/** Cold starts of each command, and each one's ratio to the bare runtime's `node -e 0` run right after it. */
function coldStarts(commands: Command[], runtime: Command) {
  const samples = new Map(commands.map((c) => [c.name, [] as number[]]));
  const ratios = new Map(commands.map((c) => [c.name, [] as number[]]));
  const once = (c: Command) => {
    const start = performance.now();
    const run = spawnSync(c.argv[0]!, c.argv.slice(1), { stdio: 'ignore', cwd: '/', env: c.env ?? process.env });
    const ms = performance.now() - start;
    if (run.status !== 0) throw new Error(`${c.argv.join(' ')} exited with ${run.status ?? run.signal}`);
    return ms;
  };
  for (const c of commands) once(c); // page cache warm for every binary alike
  const rounds = Math.max(...commands.map((c) => c.rounds));
  for (let round = 0; round < rounds; round++) {
    // Interleaved, each paired with the bare runtime run right after it: a noisy moment hits both of a pair.
    for (const c of commands) {
      if (round >= c.rounds) continue;
      const ms = once(c);
      samples.get(c.name)!.push(ms);
      ratios.get(c.name)!.push(ms / once(runtime));
    }
  }
  return commands.map((c) => ({
    name: c.name,
    ...summarize(samples.get(c.name)!),
    ratio: summarize(ratios.get(c.name)!).median,
  }));
}

requireBuilt();
const revisions = builds.map((build) => checkRevision(build.hooksDir('x64')));
const emulator = qemu();
const runtime: Command = {
  name: 'node -e 0 (pinned runtime, no blob)',
  argv: [prepareRuntime('x64'), '-e', '0'],
  rounds: Rounds,
};
const commands: Command[] = [
  ...builds.flatMap((build, i): Command[] => [
    {
      name: `${build.name}: validate --version`,
      argv: [path.join(revisions[i]!, 'hooks/validate'), '--version'],
      rounds: Rounds,
    },
    {
      name: `${build.name}: validate --check`,
      argv: [path.join(revisions[i]!, 'hooks/validate'), '--check'],
      rounds: Rounds,
    },
    {
      name: `${build.name}: no-op ApplicationStop`,
      argv: [path.join(revisions[i]!, findEvent('ApplicationStop').executable)],
      rounds: Rounds,
      env: codeDeployEnv('ApplicationStop'),
    },
  ]),
  runtime,
  { name: `node -e 0 (machine's ${process.version})`, argv: [process.execPath, '-e', '0'], rounds: Rounds },
  { name: 'sh -c true', argv: ['sh', '-c', 'true'], rounds: Rounds },
  ...(emulator
    ? builds.map((build) => ({
        name: `${build.name}: validate --version, linux-arm64 under qemu-user`,
        argv: [...emulator, path.join(build.hooksDir('arm64'), 'validate'), '--version'],
        rounds: QemuRounds,
      }))
    : []),
];
try {
  const sizeRows = sizes();
  const starts = coldStarts(commands, runtime);
  console.log(
    formatTable(
      ['build', 'binary', 'raw MiB', 'zip-deflated MiB'],
      sizeRows.map((r) => [r.build, r.binary, r.rawMiB.toFixed(1), r.deflatedMiB.toFixed(1)]),
    ),
  );
  console.log('');
  console.log(
    formatTable(
      ['command (linux-x64 unless named)', 'median ms', 'p90 ms', 'runs', '× node -e 0, paired (median)'],
      starts.map((s) => {
        const ratio = s.name === runtime.name ? '(itself)' : s.ratio.toFixed(2);
        return [s.name, s.median.toFixed(1), s.p90.toFixed(1), s.n, ratio];
      }),
    ),
  );
  if (!emulator) console.log('\n(arm64 rows missing: apt-get install -y qemu-user-static libc6-arm64-cross)');
  const out = path.join(import.meta.dirname, 'results/binary.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const machine = describeMachine();
  const result = { machine, baseline: BaselineCommit, rounds: Rounds, sizes: sizeRows, coldStartMs: starts };
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log('\nwritten to bench/results/binary.json');
} finally {
  for (const dir of revisions) fs.rmSync(dir, { recursive: true, force: true });
}
