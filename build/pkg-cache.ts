import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CacheDir, type Arch } from './paths.ts';
import { prepareRuntime, RuntimeVersion } from './runtime.ts';

/** The home directory pkg is given: its cache lives in <home>/.pkg-cache, inside the project's .cache. */
export const PkgHome = path.join(CacheDir, 'pkg-home');

/**
 * Put the verified, stripped runtime of an arch where `pkg --sea` looks before downloading:
 * <home>/.pkg-cache/sea/node-vX.Y.Z-linux-<arch>.tar.gz holding node-vX.Y.Z-linux-<arch>/bin/node, with an empty
 * `.ok` sentinel beside it (which also skips pkg's checksum download: the pin in runtimes.json was checked instead).
 */
export function seedPkgCache(arch: Arch): void {
  const dir = path.join(PkgHome, '.pkg-cache', 'sea');
  const name = `node-v${RuntimeVersion}-linux-${arch}`;
  const tarball = path.join(dir, `${name}.tar.gz`);
  if (fs.existsSync(`${tarball}.ok`) && fs.existsSync(tarball)) return;
  const runtime = prepareRuntime(arch);
  fs.mkdirSync(dir, { recursive: true });
  // pkg reuses an extracted binary beside the tarball when its own sentinel is there: a new tarball drops it.
  fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  const stage = fs.mkdtempSync(path.join(dir, 'stage-'));
  try {
    fs.mkdirSync(path.join(stage, name, 'bin'), { recursive: true });
    fs.copyFileSync(runtime, path.join(stage, name, 'bin', 'node'));
    fs.chmodSync(path.join(stage, name, 'bin', 'node'), 0o755);
    const temp = `${tarball}.tmp`;
    execFileSync('tar', ['-czf', temp, '-C', stage, `${name}/bin/node`]);
    fs.renameSync(temp, tarball);
    fs.writeFileSync(`${tarball}.ok`, '');
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
