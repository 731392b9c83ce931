// npm run bench:binary — the compiled hooks side by side in one run: size (raw and zip-deflated) and cold start of
// `hooks/validate --version` against `node -e 0` (the machine's Node and the bare pinned runtime) and `sh -c true`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { stringify } from 'yaml';
import { Arches, distHooksDir, HookNames, RepoRoot } from '../build/paths.ts';
import { prepareRuntime } from '../build/runtime.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 30);
const QemuRounds = Math.max(3, Math.round(Rounds / 5));
const MiB = 2 ** 20;

type Command = { name: string; argv: string[]; rounds: number };

function requireBuilt(): void {
  for (const arch of Arches) {
    for (const name of HookNames) {
      if (!fs.existsSync(path.join(distHooksDir(arch), name))) throw new Error(`dist/linux-${arch}/hooks/${name} is missing: run npm run build first`);
    }
  }
}

function sizes() {
  return Arches.flatMap((arch) =>
    HookNames.map((name) => {
      const bytes = fs.readFileSync(path.join(distHooksDir(arch), name));
      // zip's default method: raw deflate at level 6.
      return { binary: `linux-${arch}/hooks/${name}`, rawMiB: bytes.length / MiB, deflatedMiB: zlib.deflateRawSync(bytes, { level: 6 }).length / MiB };
    }),
  );
}

/** A revision directory where `hooks/validate --check` has a real config to read: in-place, nothing listening. */
function checkRevision(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-binary-'));
  fs.mkdirSync(path.join(dir, 'hooks'));
  fs.copyFileSync(path.join(distHooksDir('x64'), 'validate'), path.join(dir, 'hooks/validate'));
  fs.copyFileSync(path.join(RepoRoot, 'appspec.yml'), path.join(dir, 'appspec.yml'));
  fs.writeFileSync(path.join(dir, 'portproof.yml'), stringify({ app: { name: 'bench', command: ['sleep', '1000'] }, ports: [1], health: { url: 'http://127.0.0.1:{port}/' }, stateDir: path.join(dir, 'state') }));
  return dir;
}

function qemu(): string[] | null {
  const emulator = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => fs.existsSync(p));
  return emulator && fs.existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1') ? [emulator, '-L', '/usr/aarch64-linux-gnu'] : null;
}

function coldStarts(commands: Command[]): Record<string, ReturnType<typeof summarize>> {
  const samples = new Map(commands.map((c) => [c.name, [] as number[]]));
  const once = (c: Command) => {
    const start = performance.now();
    const run = spawnSync(c.argv[0]!, c.argv.slice(1), { stdio: 'ignore', cwd: '/' });
    const ms = performance.now() - start;
    if (run.status !== 0) throw new Error(`${c.argv.join(' ')} exited with ${run.status ?? run.signal}`);
    return ms;
  };
  for (const c of commands) once(c); // page cache warm for every binary alike
  const rounds = Math.max(...commands.map((c) => c.rounds));
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so a noisy moment on the shared machine hits every command alike.
    for (const c of commands) if (round < c.rounds) samples.get(c.name)!.push(once(c));
  }
  return Object.fromEntries([...samples].map(([name, s]) => [name, summarize(s)]));
}

requireBuilt();
const revision = checkRevision();
const validate = path.join(distHooksDir('x64'), 'validate');
const emulator = qemu();
const commands: Command[] = [
  { name: 'hooks/validate --version (linux-x64)', argv: [validate, '--version'], rounds: Rounds },
  { name: 'hooks/validate --check (in-place, nothing listening)', argv: [path.join(revision, 'hooks/validate'), '--check'], rounds: Rounds },
  { name: `node -e 0 (pinned runtime, no blob)`, argv: [prepareRuntime('x64'), '-e', '0'], rounds: Rounds },
  { name: `node -e 0 (machine's ${process.version})`, argv: [process.execPath, '-e', '0'], rounds: Rounds },
  { name: 'sh -c true', argv: ['sh', '-c', 'true'], rounds: Rounds },
  ...(emulator ? [{ name: 'hooks/validate --version (linux-arm64 under qemu-user)', argv: [...emulator, path.join(distHooksDir('arm64'), 'validate'), '--version'], rounds: QemuRounds }] : []),
];
try {
  const sizeRows = sizes();
  const starts = coldStarts(commands);
  console.log(formatTable(['binary', 'raw MiB', 'zip-deflated MiB'], sizeRows.map((r) => [r.binary, r.rawMiB.toFixed(1), r.deflatedMiB.toFixed(1)])));
  console.log('');
  const sh = starts['sh -c true']!.median;
  console.log(formatTable(['command', 'median ms', 'p90 ms', 'runs', '× sh -c true'], Object.entries(starts).map(([name, s]) => [name, s.median.toFixed(1), s.p90.toFixed(1), s.n, (s.median / sh).toFixed(1)])));
  if (!emulator) console.log('\n(arm64 row missing: apt-get install -y qemu-user-static libc6-arm64-cross)');
  const out = path.join(import.meta.dirname, 'results/binary.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ machine: describeMachine(), rounds: Rounds, sizes: sizeRows, coldStartMs: starts }, null, 2)}\n`);
  console.log('\nwritten to bench/results/binary.json');
} finally {
  fs.rmSync(revision, { recursive: true, force: true });
}
