import path from 'node:path';
import { build } from 'esbuild';
import { CacheDir, RepoRoot } from './paths.ts';
import { versionDefine } from './version.ts';

/** Bundle one hook (src/hooks/<name>.ts and everything it imports) into the one CommonJS script pkg's SEA takes. */
export async function bundleHook(name: string): Promise<string> {
  const outfile = path.join(CacheDir, 'bundle', `${name}.cjs`);
  const result = await build({
    entryPoints: [path.join(RepoRoot, 'src/hooks', `${name}.ts`)],
    outfile,
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
    define: { 'process.env.NODE_ENV': '"production"', ...versionDefine() },
  });
  if (result.errors.length > 0) throw new Error(`esbuild failed for ${name}`);
  return outfile;
}
