import fs from 'node:fs';
import path from 'node:path';
import { bundleHook } from './bundle.ts';
import { makeCodeCache, SeaMain } from './code-cache.ts';
import { Arches, distHooksDir, HookNames, hostArch, RepoRoot, type Arch } from './paths.ts';
import { buildWithPkg } from './pkg.ts';

const DefaultOutRoot = path.join(RepoRoot, 'dist');

/** One built executable. */
export interface BuiltHook {
  arch: Arch;
  name: string;
  file: string;
  bytes: number;
}

/**
 * Build the three hooks for each arch: esbuild bundle → `pkg --sea` on the pinned runtime. The build machine's arch
 * gets V8's code cache (made by its own V8): the bundle and a cache taken after a warm-up run are SEA assets that
 * build/sea-main.cjs runs. The other arch gets the plain bundle as its main script, as a code cache made by another
 * CPU's V8 would be rejected. The host arch's hooks are also copied to hooks/ for local runs and tests.
 */
export async function buildHooks(arches: Arch[] = Arches, outRoot = DefaultOutRoot): Promise<BuiltHook[]> {
  const host = hostArch();
  if (!host) throw new Error(`building on ${process.arch} is not supported: build on x64 or arm64`);
  const built: BuiltHook[] = [];
  for (const name of HookNames) {
    const entry = await bundleHook(name);
    const target = (arch: Arch) => ({ arch, output: path.join(distHooksDir(arch, outRoot), name) });
    const others = arches.filter((arch) => arch !== host);
    if (arches.includes(host)) {
      const assets = await makeCodeCache(name, entry, host);
      await buildWithPkg(SeaMain, [target(host)], host, true, assets);
    }
    // One pkg run makes one blob for all its targets: the cross-built arches share one without a code cache.
    if (others.length > 0) await buildWithPkg(entry, others.map(target), host, false);
    for (const arch of arches) {
      const file = target(arch).output;
      built.push({ arch, name, file, bytes: fs.statSync(file).size });
    }
  }
  // hooks/ mirrors the default build only: a build into another directory leaves the local hooks alone.
  if (arches.includes(host) && outRoot === DefaultOutRoot) copyToLocalHooks(distHooksDir(host, outRoot));
  return built;
}

function copyToLocalHooks(from: string): void {
  const dir = path.join(RepoRoot, 'hooks');
  fs.mkdirSync(dir, { recursive: true });
  for (const name of HookNames) {
    const temp = path.join(dir, `.${name}.tmp`);
    fs.copyFileSync(path.join(from, name), temp);
    fs.chmodSync(temp, 0o755);
    fs.renameSync(temp, path.join(dir, name));
  }
}
