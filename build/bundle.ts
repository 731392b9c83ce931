import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { CacheDir, RepoRoot } from './paths.ts';
import type { LifecycleEvent } from '../src/core/hook/help.ts';

/** A compiled hook's two scripts: the launcher (its SEA main) and the hook itself (an asset it loads on demand). */
export interface HookBundle {
  launcher: string;
  hook: string;
}

const events: Record<string, LifecycleEvent> = { stop: 'ApplicationStop', start: 'ApplicationStart', validate: 'ValidateService' };

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  // Readable stack traces in a bug report matter more than the few hundred KB minifying would save in 100 MB.
  minify: false,
  legalComments: 'none',
  logLevel: 'error',
  // pino's transports load worker files by path; portproof never uses them, and a single binary has none.
  external: ['pino-pretty'],
  define: { 'process.env.NODE_ENV': '"production"' },
};

/** Bundle one hook (src/hooks/<name>.ts and everything it imports) and its launcher into CommonJS files. */
export async function bundleHook(name: string): Promise<HookBundle> {
  const event = events[name];
  if (!event) throw new Error(`no hook named ${name}`);
  const dir = path.join(CacheDir, 'bundle');
  const bundle = { hook: path.join(dir, `${name}.cjs`), launcher: path.join(dir, `${name}.launcher.cjs`) };
  const results = await Promise.all([
    build({ ...common, entryPoints: [path.join(RepoRoot, 'src/hooks', `${name}.ts`)], outfile: bundle.hook }),
    build({ ...common, entryPoints: [path.join(RepoRoot, 'build/launcher.ts')], outfile: bundle.launcher, define: { ...common.define, PORTPROOF_EVENT: JSON.stringify(event) } }),
  ]);
  if (results.some((r) => r.errors.length > 0)) throw new Error(`esbuild failed for ${name}`);
  return bundle;
}
