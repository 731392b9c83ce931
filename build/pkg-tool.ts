import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RepoRoot } from './paths.ts';

/**
 * @yao-pkg/pkg lives in a package of its own, build/pkg-tool, installed and run by the pinned Node runtime: pkg
 * needs Node >= 22, and the checkout's own `npm ci` stays clean on the Node ^20.19 the README names.
 */
export const PkgToolDir = path.join(RepoRoot, 'build', 'pkg-tool');

/** Install build/pkg-tool's locked dependencies with `runtime` running npm, unless the locked pkg is there already. */
export function ensurePkgTool(runtime: string): void {
  const wanted = JSON.parse(fs.readFileSync(path.join(PkgToolDir, 'package.json'), 'utf8')).dependencies[
    '@yao-pkg/pkg'
  ];
  const installed = path.join(PkgToolDir, 'node_modules', '@yao-pkg', 'pkg', 'package.json');
  if (fs.existsSync(installed) && JSON.parse(fs.readFileSync(installed, 'utf8')).version === wanted) return;
  // npm checks engines against the Node that runs it: the pinned runtime, which pkg's engines accept.
  execFileSync(runtime, [findNpmCli(), 'ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: PkgToolDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** npm's own script: the one running this build (npm_execpath), else the `npm` on PATH followed to its file. */
function findNpmCli(): string {
  const running = process.env.npm_execpath;
  if (running?.endsWith('npm-cli.js') && fs.existsSync(running)) return running;
  for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d !== '')) {
    const npm = path.join(dir, 'npm');
    if (!fs.existsSync(npm)) continue;
    const real = fs.realpathSync(npm);
    if (real.endsWith('.js')) return real;
    // A wrapper script (nvm, some distributions): npm's package sits beside node's lib.
    const beside = path.resolve(path.dirname(real), '../lib/node_modules/npm/bin/npm-cli.js');
    if (fs.existsSync(beside)) return beside;
  }
  throw new Error('npm not found on PATH: the build installs pkg with it (build/pkg-tool)');
}
