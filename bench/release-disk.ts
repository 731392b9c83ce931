// npm run bench:release — the disk one release costs under the state directory (issue 19): before, the app ran from
// the agent's archive (no cost, and deleted under the live app); after, portproof's own release, hard-linked from the
// revision where the file system allows, copied where it does not (state directory on another file system).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RepoRoot } from '../build/paths.ts';
import { makeRelease } from '../src/core/release/make-release.ts';
import { writeRevision } from '../src/lab/revision.ts';
import { formatTable } from './lib/stats.ts';

const MiB = 2 ** 20;
const JarMiB = Number(process.env.BENCH_JAR_MIB ?? 20);

/** Allocated bytes below `dir` of inodes not in `shared` (hard links to the revision cost nothing new). */
function newBytes(dir: string, shared: Set<number>): number {
  let sum = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).concat('.')) {
    const stat = fs.lstatSync(path.join(dir, entry));
    if (!shared.has(stat.ino)) sum += stat.blocks * 512;
  }
  return sum;
}

function inodes(dir: string): Set<number> {
  const names = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
  return new Set(names.map((name) => fs.lstatSync(path.join(dir, name)).ino));
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-release-'));
const other = fs.mkdtempSync('/dev/shm/portproof-bench-release-');
try {
  const revision = path.join(temp, 'revision');
  writeRevision(revision, { config: { app: { name: 'bench' } }, hooksDir: path.join(RepoRoot, 'hooks') });
  // `portproof bundle` lays the app out in app/, which is then app.cwd's default: the release is made of app/ alone.
  fs.mkdirSync(path.join(revision, 'app'));
  const jar = path.join(revision, 'app', 'app.jar');
  for (let i = 0; i < JarMiB; i++) fs.appendFileSync(jar, crypto.randomBytes(MiB));
  const shared = inodes(revision);
  const kib = (bytes: number) => (bytes / 1024).toFixed(0);
  const rows = [['before: the app runs from the agent archive', '0', '0', `${kib(newBytes(revision, new Set()))} KiB`]];
  for (const [what, source] of [
    ['app/ (portproof bundle)', path.join(revision, 'app')],
    ['the bundle root', revision],
  ] as const) {
    const linked = makeRelease(path.join(temp, 'state'), `linked-${rows.length}`, source);
    const copied = makeRelease(other, `copied-${rows.length}`, source);
    rows.push([`after: release of ${what}`, kib(newBytes(linked.dir, shared)), kib(newBytes(copied.dir, shared)), '']);
  }
  const head = ['one release', 'KiB added (hard links)', 'KiB added (copy, other fs)', 'revision'];
  console.log(formatTable(head, rows));
  console.log(
    `\nrevision: a ${JarMiB} MiB jar in app/, the compiled hooks, appspec.yml, portproof.yml (BENCH_JAR_MIB)`,
  );
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
  fs.rmSync(other, { recursive: true, force: true });
}
