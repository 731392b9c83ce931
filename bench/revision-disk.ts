// npm run bench:revision — the disk one deployment costs a host, before (the baseline commit's `portproof bundle`
// and example appspec) and after (this checkout's): the archive the agent downloads, its unpacked copy, and what
// the appspec's `files:` copies to the destination. The agent keeps the archive and unpacked copy of up to five
// revisions per deployment group; the destination holds one.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { CacheDir, RepoRoot } from '../build/paths.ts';
import { BaselineCommit, baselineHooksDir } from './lib/baseline.ts';
import { formatTable } from './lib/stats.ts';

const MiB = 2 ** 20;
/** A stand-in for the app's jar: incompressible, as a jar (itself a zip) nearly is. */
const JarMiB = Number(process.env.BENCH_JAR_MIB ?? 20);
const KeptRevisions = 5;

/** Bytes on disk (allocated blocks) of a file or everything below a directory. */
function diskBytes(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.blocks * 512;
  return fs.readdirSync(target).reduce((sum, entry) => sum + diskBytes(path.join(target, entry)), 0);
}

/** Assemble a revision with one checkout's own bundle command, appspec and example config. */
function bundleWith(checkout: string, out: string, jar: string): void {
  execFileSync(
    process.execPath,
    [
      path.join(checkout, 'bin/portproof.js'),
      'bundle',
      '--arch',
      'x64',
      '--out',
      out,
      '--config',
      'portproof.example.yml',
      jar,
    ],
    { cwd: checkout, stdio: 'ignore' },
  );
}

/** What the revision's appspec `files:` copies: each source, relative to the revision's root. */
function copiedBytes(revision: string): number {
  const appspec = parse(fs.readFileSync(path.join(revision, 'appspec.yml'), 'utf8')) as {
    files?: { source: string }[];
  };
  return (appspec.files ?? []).reduce((sum, { source }) => sum + diskBytes(path.join(revision, source)), 0);
}

function measure(name: string, checkout: string, temp: string, jar: string) {
  const revision = path.join(temp, name, 'revision');
  fs.mkdirSync(path.dirname(revision), { recursive: true });
  bundleWith(checkout, revision, jar);
  // `aws deploy push` zips the directory with deflate; so does zip -r.
  const archive = path.join(temp, name, 'revision.zip');
  execFileSync('zip', ['-q', '-r', '-X', archive, '.'], { cwd: revision });
  const sizes = { archive: diskBytes(archive), unpacked: diskBytes(revision), copied: copiedBytes(revision) };
  return {
    name,
    ...sizes,
    deployment: sizes.archive + sizes.unpacked + sizes.copied,
    kept: KeptRevisions * (sizes.archive + sizes.unpacked) + sizes.copied,
  };
}

baselineHooksDir('x64'); // builds the baseline checkout once, with its hooks
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-revision-'));
try {
  const jar = path.join(temp, 'app.jar');
  fs.writeFileSync(jar, '');
  for (let i = 0; i < JarMiB; i++) fs.appendFileSync(jar, crypto.randomBytes(MiB));
  const rows = [
    measure(`before (${BaselineCommit})`, path.join(CacheDir, `baseline-${BaselineCommit}`), temp, jar),
    measure('after (this checkout)', RepoRoot, temp, jar),
  ];
  const mib = (bytes: number) => (bytes / MiB).toFixed(0);
  console.log(
    formatTable(
      [
        'revision (linux-x64, example appspec)',
        'archive MiB',
        'unpacked MiB',
        'files: copy MiB',
        'one deployment MiB',
        `${KeptRevisions} kept + destination MiB`,
      ],
      rows.map((r) => [r.name, mib(r.archive), mib(r.unpacked), mib(r.copied), mib(r.deployment), mib(r.kept)]),
    ),
  );
  console.log(`\nwith a ${JarMiB} MiB jar (BENCH_JAR_MIB); sizes are allocated blocks on this filesystem`);
  const out = path.join(import.meta.dirname, 'results/revision-disk.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify({ baseline: BaselineCommit, jarMiB: JarMiB, keptRevisions: KeptRevisions, rows }, null, 2)}\n`,
  );
  console.log('written to bench/results/revision-disk.json');
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
}
