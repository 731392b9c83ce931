import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { RepoRoot } from './paths.ts';
import { versionDefine } from './version.ts';

/** Where the compiled workstation CLI lands; bin/portproof.js runs it. */
export const CliOutDir = path.join(RepoRoot, 'dist', 'cli');

/**
 * Compile the workstation CLI (src/cli/main.ts and what it imports) into ES modules under dist/cli: one chunk per
 * command, loaded when the command runs; packages stay in node_modules.
 */
export async function buildCli(outdir = CliOutDir): Promise<string> {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { portproof: path.join(RepoRoot, 'src/cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    minify: false,
    legalComments: 'none',
    logLevel: 'error',
    define: versionDefine(),
    plugins: [sourceDirname(outdir)],
  });
  if (result.errors.length > 0) throw new Error('esbuild failed for the CLI');
  return path.join(outdir, 'portproof.js');
}

/**
 * Every chunk runs from outdir, so `import.meta.dirname` would name dist/cli for every module: each source file's
 * own directory is put back, relative to outdir, so the checkout may move.
 */
function sourceDirname(outdir: string): Plugin {
  return {
    name: 'source-dirname',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.dirname')) return undefined;
        const relative = path.relative(outdir, path.dirname(args.path));
        const dirname = `(import.meta.dirname + ${JSON.stringify(`/${relative}`)})`;
        // Only the expression: a quoted name (build/bundle.ts defines 'import.meta.dirname' for the hooks) stays.
        const expression = /(?<!['"`])\bimport\.meta\.dirname\b/g;
        return { contents: source.replace(expression, dirname), loader: 'ts' };
      });
    },
  };
}

// `npm run build:cli` (and npm ci, through the prepare script).
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.join(RepoRoot, 'build/build-cli.ts')) {
  const startedAt = Date.now();
  const file = await buildCli();
  console.log(`built ${path.relative(RepoRoot, file)} in ${Date.now() - startedAt} ms`);
}
