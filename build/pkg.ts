import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { HookExecArgv } from './hook-flags.ts';
import { seedPkgCache, PkgHome } from './pkg-cache.ts';
import { ensurePkgTool, PkgToolDir } from './pkg-tool.ts';
import { RepoRoot, type Arch } from './paths.ts';
import { replaceFile } from './replace-file.ts';
import { prepareRuntime, RuntimeVersion } from './runtime.ts';

const execFileAsync = promisify(execFile);

/** One executable pkg is asked for. */
export interface PkgTarget {
  arch: Arch;
  output: string;
}

/**
 * Turn one CommonJS script into a single executable per target with `pkg --sea`, offline: every target names the
 * exact pinned version (no version index fetched) and the seeded cache holds each runtime (no download). pkg runs on
 * the pinned runtime of the build machine's arch, which also makes the blob. `useCodeCache` stores V8's compiled
 * code for the script in the blob: only for targets of the build machine's arch, whose V8 made it. `assets` (key →
 * file) go into the blob as SEA assets, which the script reads with `node:sea`'s getAsset. Every executable starts
 * with the flags of build/hook-flags.ts.
 */
export async function buildWithPkg(
  entry: string,
  targets: PkgTarget[],
  host: Arch,
  useCodeCache: boolean,
  assets: Record<string, string> = {},
): Promise<void> {
  if (useCodeCache && targets.some((t) => t.arch !== host))
    throw new Error(`a code cache made on ${host} fits ${host} only`);
  for (const target of targets) seedPkgCache(target.arch);
  seedPkgCache(host);
  const temps = targets.map((t) => ({ arch: t.arch, output: `${t.output}.tmp` }));
  for (const target of targets) fs.mkdirSync(path.dirname(target.output), { recursive: true });
  const request = {
    entry,
    nodeRange: `node${RuntimeVersion}`,
    targets: temps,
    useCodeCache,
    assets,
    execArgv: HookExecArgv,
  };
  const runtime = prepareRuntime(host);
  ensurePkgTool(runtime);
  try {
    await execFileAsync(runtime, [path.join(PkgToolDir, 'pkg-sea.cjs'), JSON.stringify(request)], {
      cwd: RepoRoot,
      // HOME points pkg at the seeded cache; nothing else of the caller's home is read or written.
      env: { ...process.env, HOME: PkgHome },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `pkg --sea failed for ${path.basename(entry)}: ${`${stderr}\n${stdout}`.trim().split('\n').slice(-5).join('\n')}`,
    );
  }
  for (const [i, target] of targets.entries()) replaceFile(temps[i]!.output, target.output);
}
