import fs from 'node:fs';
import path from 'node:path';
import { bundleHook } from './bundle.ts';
import { Arches, distHooksDir, HookNames, RepoRoot, type Arch } from './paths.ts';
import { prepareRuntime } from './runtime.ts';
import { generateSeaBlob, injectBlob } from './sea.ts';

const DefaultOutRoot = path.join(RepoRoot, 'dist');

/** One built executable. */
export interface BuiltHook {
  arch: Arch;
  name: string;
  file: string;
  bytes: number;
}

/** The arch of the machine running the build, if it is one portproof targets. */
export function hostArch(): Arch | null {
  return process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
}

/**
 * Build the three hooks for each arch: esbuild bundle → SEA blob (made by the pinned x64 runtime) → injected into the
 * stripped runtime of each arch. The host arch's hooks are also copied to hooks/ for local runs and tests.
 */
export async function buildHooks(arches: Arch[] = Arches, outRoot = DefaultOutRoot): Promise<BuiltHook[]> {
  const blobMaker = prepareRuntime('x64');
  const runtimes = Object.fromEntries(arches.map((arch) => [arch, prepareRuntime(arch)])) as Record<Arch, string>;
  const built: BuiltHook[] = [];
  for (const name of HookNames) {
    const blob = generateSeaBlob(await bundleHook(name), blobMaker);
    for (const arch of arches) {
      const file = path.join(distHooksDir(arch, outRoot), name);
      await injectBlob(runtimes[arch], blob, file);
      built.push({ arch, name, file, bytes: fs.statSync(file).size });
    }
  }
  const host = hostArch();
  // hooks/ mirrors the default build only: a build into another directory leaves the local hooks alone.
  if (host && arches.includes(host) && outRoot === DefaultOutRoot) copyToLocalHooks(distHooksDir(host, outRoot));
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
