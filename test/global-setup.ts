import fs from 'node:fs';
import path from 'node:path';
import { buildCli } from '../build/build-cli.ts';
import { buildHooks } from '../build/build-hooks.ts';
import { Arches, distHooksDir, HookNames, RepoRoot } from '../build/paths.ts';

/** Newest modification time of any file below `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Compile the workstation CLI that bin/portproof.js runs (well under a second, so every run: never a stale one), and
 * build the hook binaries once per test run when any is missing or older than the sources, so the end-to-end tests
 * run the compiled executables, as CodeDeploy would.
 */
export default async function setup(): Promise<void> {
  await buildCli();
  if (process.env.PORTPROOF_TEST_FROM_SOURCE === '1') return;
  const outputs = Arches.flatMap((arch) => HookNames.map((name) => path.join(distHooksDir(arch), name))).concat(
    HookNames.map((n) => path.join(RepoRoot, 'hooks', n)),
  );
  const sources = Math.max(
    newestMtime(path.join(RepoRoot, 'src')),
    newestMtime(path.join(RepoRoot, 'build')),
    fs.statSync(path.join(RepoRoot, 'package-lock.json')).mtimeMs,
  );
  const stale = outputs.some((file) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < sources);
  if (!stale) return;
  const startedAt = Date.now();
  await buildHooks();
  console.log(`built the hook binaries for the tests in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}
