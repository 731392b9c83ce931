import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRelease, releasesDir } from '../../src/core/release/make-release.ts';
import { pruneReleases } from '../../src/core/release/prune-releases.ts';
import { removeTree } from '../../src/core/release/remove-tree.ts';

// Root deletes releases the app user may write into (one an older portproof made, keeping a tar's uid): the user
// swaps a directory inside for a link to a root-owned directory while the prune runs. Nothing outside may go.

const Nobody = 65534;
const Runs = 20;
const Files = 1000;
const Swapper = path.join(import.meta.dirname, '..', 'fixtures', 'release-swapper.mjs');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

function fill(dir: string, count: number, prefix: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `${prefix}${i}`), 'x');
}

/**
 * One race: r1's app/data is the app user's to rename; once root starts deleting it, the user swaps it for a link to a
 * root-owned directory holding the same names, so a path-by-path delete goes on in there.
 */
async function raceOnce(): Promise<{ deletedOutside: number; swaps: number; left: string[]; gone: boolean }> {
  const scratch = tempDir('portproof-race-');
  const outside = path.join(scratch, 'root-only');
  fill(outside, Files, 'f');
  const revision = path.join(scratch, 'rev');
  fill(path.join(revision, 'app', 'data'), Files, 'f');
  const appDir = path.join(scratch, 'state');
  fs.mkdirSync(appDir, { mode: 0o755 });
  const r1 = makeRelease(appDir, 'r1', revision);
  fs.utimesSync(r1.dir, 1000, 1000);
  makeRelease(appDir, 'r2', revision);
  makeRelease(appDir, 'r3', revision);
  // A release made before releases were locked: its directories the app user's, as the tar had them.
  fs.chownSync(path.join(r1.dir, 'app'), Nobody, Nobody);
  fs.chownSync(path.join(r1.dir, 'app', 'data'), Nobody, Nobody);
  const appFd = fs.openSync(path.join(r1.dir, 'app'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const swapper = spawn(process.execPath, [Swapper, outside], {
    uid: Nobody,
    gid: Nobody,
    cwd: '/',
    stdio: ['ignore', 'pipe', 'inherit', appFd],
  });
  fs.closeSync(appFd);
  let said = '';
  swapper.stdout?.on('data', (chunk: Buffer) => {
    said += chunk.toString();
  });
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  // Budget, not timing: the swapper says it is ready before the prune starts.
  while (!said.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 10));
  const report = pruneReleases(appDir, new Set(['r3']), 0);
  swapper.kill('SIGTERM');
  await exited;
  expect(report.deleted).toEqual(['r1']);
  return {
    deletedOutside: Files - fs.readdirSync(outside).length,
    swaps: Number(/swaps (\d+)/.exec(said)?.[1] ?? 0),
    left: report.left,
    gone: !fs.readdirSync(releasesDir(appDir)).some((n) => n.includes('r1')),
  };
}

describe('the prune against the app user swapping links into a release', () => {
  it(`deletes nothing outside the release in ${Runs} races`, async () => {
    const results = [];
    for (let run = 0; run < Runs; run++) results.push(await raceOnce());
    const outside = results.map((r) => r.deletedOutside);
    console.log(
      `prune race: ${Runs} runs, files deleted outside per run: ${outside.join(' ')}; ` +
        `swaps per run: ${results.map((r) => r.swaps).join(' ')}; ` +
        `release fully gone in ${results.filter((r) => r.gone).length} runs`,
    );
    expect(outside).toEqual(results.map(() => 0));
    // The race ran: the app user swapped while releases were being deleted.
    expect(results.reduce((sum, r) => sum + r.swaps, 0)).toBeGreaterThan(0);
    // What was not deleted is named, never silently kept.
    for (const r of results) if (!r.gone) expect(r.left.length).toBeGreaterThan(0);
  }, 300_000);
});

describe('removeTree', () => {
  it('removes a link as a link, files, nested directories; leaves nothing of the tree', () => {
    const parent = tempDir('portproof-rm-');
    const outside = tempDir('portproof-rm-outside-');
    fill(outside, 5, 'o');
    fill(path.join(parent, 'tree', 'a', 'b'), 3, 'f');
    fs.symlinkSync(outside, path.join(parent, 'tree', 'a', 'link'));
    fs.symlinkSync(path.join(outside, 'o1'), path.join(parent, 'tree', 'file-link'));
    const report = removeTree(parent, 'tree');
    expect(report.left).toEqual([]);
    expect(fs.readdirSync(parent)).toEqual([]);
    expect(fs.readdirSync(outside)).toHaveLength(5);
  });
});
