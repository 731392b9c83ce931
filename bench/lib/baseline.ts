import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CacheDir, RepoRoot, type Arch } from '../../build/paths.ts';

/** The commit the before/after benchmarks compare against: main before the build moved to @yao-pkg/pkg. */
export const BaselineCommit = process.env.PORTPROOF_BASELINE ?? 'e0f7d91';

/**
 * The hooks of the baseline commit, built once into .cache/baseline-<commit>/ from that commit's own tree and
 * lockfile (`npm ci` from the npm registry; the pinned runtimes are shared with this checkout's cache).
 * Returns dist/linux-<arch>/hooks of that build.
 */
export function baselineHooksDir(arch: Arch): string {
  const root = path.join(CacheDir, `baseline-${BaselineCommit}`);
  const hooks = path.join(root, 'dist', `linux-${arch}`, 'hooks');
  if (fs.existsSync(path.join(hooks, 'validate'))) return hooks;
  console.log(`building the baseline hooks of ${BaselineCommit} into ${path.relative(RepoRoot, root)} (once)`);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(path.join(root, '.cache'), { recursive: true });
  const tree = execFileSync('git', ['archive', '--format=tar', BaselineCommit], {
    cwd: RepoRoot,
    maxBuffer: 256 * 2 ** 20,
  });
  execFileSync('tar', ['-x', '-C', root], { input: tree });
  // The same pinned runtimes: no second download, and the comparison is of the build, not the runtime.
  fs.mkdirSync(path.join(CacheDir, 'runtimes'), { recursive: true });
  fs.symlinkSync(path.join(CacheDir, 'runtimes'), path.join(root, '.cache', 'runtimes'));
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--silent'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  execFileSync(process.execPath, ['bin/portproof.js', 'build', '--out', 'dist'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return hooks;
}
