import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { bundleEntry } from './bundle.ts';
import { buildHooks } from './build-hooks.ts';
import { Arches, distHooksDir, HookNames, hostArch, RepoRoot, type Arch } from './paths.ts';
import { buildWithPkg } from './pkg.ts';
import { readPackageVersion } from './version.ts';

/** Where `npm run release` puts the archives and SHA256SUMS. */
export const ReleaseDir = path.join(RepoRoot, 'dist', 'release');

/**
 * Pack the release from the hooks already built in dist/: for each arch a `portproof` CLI (init, bundle, why, owners)
 * compiled as the hooks are (esbuild, then pkg --sea on the pinned runtime; no code cache), the three hooks beside it
 * in hooks/, as portproof-<version>-linux-<arch>.tar.gz, and SHA256SUMS for the archives. Returns the archives.
 */
export async function packRelease(arches: Arch[] = Arches, outDir = ReleaseDir): Promise<string[]> {
  const host = hostArch();
  if (!host) throw new Error(`releasing on ${process.arch} is not supported: use x64 or arm64`);
  const version = readPackageVersion();
  const entry = await bundleEntry(path.join(RepoRoot, 'src/cli/release-main.ts'), 'portproof-cli', false);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const stage = (arch: Arch) => path.join(outDir, `portproof-${version}-linux-${arch}`);
  await buildWithPkg(
    entry,
    arches.map((arch) => ({ arch, output: path.join(stage(arch), 'portproof') })),
    host,
    false,
  );
  const archives: string[] = [];
  for (const arch of arches) {
    fs.mkdirSync(path.join(stage(arch), 'hooks'));
    for (const name of HookNames) {
      const from = path.join(distHooksDir(arch), name);
      if (!fs.existsSync(from)) throw new Error(`${from}: not built (run npm run build)`);
      fs.copyFileSync(from, path.join(stage(arch), 'hooks', name));
      fs.chmodSync(path.join(stage(arch), 'hooks', name), 0o755);
    }
    const archive = `${stage(arch)}.tar.gz`;
    const args = [
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-czf',
      archive,
      '-C',
      outDir,
      path.basename(stage(arch)),
    ];
    // Asynchronous: packing 400 MB takes tens of seconds, and callers (the release test) must keep their loop.
    await promisify(execFile)('tar', args);
    fs.rmSync(stage(arch), { recursive: true });
    archives.push(archive);
  }
  const sums: string[] = [];
  for (const file of archives) sums.push(`${await sha256(file)}  ${path.basename(file)}`);
  fs.writeFileSync(path.join(outDir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  return archives;
}

async function sha256(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

// `npm run release`: build the hooks for both arches, then pack.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.join(RepoRoot, 'build/release.ts')) {
  const startedAt = Date.now();
  await buildHooks();
  for (const archive of await packRelease()) {
    console.log(`${path.relative(RepoRoot, archive)}  ${(fs.statSync(archive).size / 1e6).toFixed(1)} MB`);
  }
  console.log(`${path.relative(RepoRoot, path.join(ReleaseDir, 'SHA256SUMS'))}`);
  console.log(`released in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
}
