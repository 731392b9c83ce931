import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { loadBuiltinsLazily } from './lazy-builtins.ts';
import { CacheDir, RepoRoot } from './paths.ts';
import { versionDefine } from './version.ts';

/**
 * Bundle one hook (src/hooks/<name>.ts and everything it imports) into the one CommonJS script pkg's SEA takes, its
 * imports of node builtins loaded on first use (build/lazy-builtins.ts).
 */
export async function bundleHook(name: string): Promise<string> {
  return bundleEntry(path.join(RepoRoot, 'src/hooks', `${name}.ts`), name, true);
}

/**
 * Bundle any entry the way a hook is bundled, into .cache/bundle/<name>.cjs: the release's CLI is built so too, with
 * its builtins loaded as usual (`lazy` is tuned to the hooks' dependencies; the AWS SDK's would not fit it).
 */
export async function bundleEntry(entry: string, name: string, lazy: boolean): Promise<string> {
  const outfile = path.join(CacheDir, 'bundle', `${name}.cjs`);
  const result = await build({
    entryPoints: [entry],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Readable stack traces in a bug report matter more than the few hundred KB minifying would save in 100 MB.
    minify: false,
    legalComments: 'none',
    logLevel: 'error',
    // Paths in the bundle's comments stay relative to the checkout even when node_modules is a link elsewhere.
    preserveSymlinks: true,
    // A CommonJS bundle has no import.meta: a module's directory is the executable's (build/paths.ts reads it).
    define: { 'process.env.NODE_ENV': '"production"', 'import.meta.dirname': '__dirname', ...versionDefine() },
  });
  const output = result.outputFiles?.[0];
  if (result.errors.length > 0 || !output) throw new Error(`esbuild failed for ${name}`);
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  fs.writeFileSync(outfile, lazy ? loadBuiltinsLazily(output.text) : output.text);
  return outfile;
}
