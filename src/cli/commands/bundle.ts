import fs from 'node:fs';
import path from 'node:path';
import * as sea from 'node:sea';
import { parseArgs } from 'node:util';
import { assembleBundle } from '../../../build/assemble-bundle.ts';
import { Arches, distHooksDir, hostArch, type Arch } from '../../../build/paths.ts';
import { checkPortableConfig, configProblems } from '../../core/config/load.ts';
import { describeArgsError } from '../dispatch.ts';

/** `portproof bundle --out DIR [--arch A] [--config FILE] [--appspec FILE] [--force] [PATH...]` */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        arch: { type: 'string' },
        out: { type: 'string' },
        config: { type: 'string' },
        appspec: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail(`${describeArgsError(error)} (see --help)`);
  }
  const { values, positionals } = parsed;
  const hooks = findHooks(values.arch);
  if ('problem' in hooks) return fail(hooks.problem);
  if (!values.out) return fail('--out DIR is required (see --help)');
  const config = path.resolve(values.config ?? 'portproof.yml');
  const out = path.resolve(values.out);
  try {
    // The rules the hooks would apply on the host, applied before the upload: a typo fails here, not mid-deployment.
    const problems = checkPortableConfig(config);
    if (problems.length > 0) {
      const error = configProblems(config, problems);
      for (const line of error.context.evidence ?? []) console.error(`portproof bundle: ${line}`);
      return fail(error.message);
    }
    const written = assembleBundle({
      arch: hooks.arch,
      out,
      appspec: path.resolve(values.appspec ?? 'appspec.yml'),
      config,
      hooksDir: hooks.dir,
      hooksHint: hooks.hint,
      files: positionals.map((f) => path.resolve(f)),
      base: process.cwd(),
      force: values.force,
    });
    const size = `${written.files.length} files, ${(written.bytes / 1e6).toFixed(1)} MB`;
    console.log(`wrote the revision for linux-${hooks.arch} to ${out} (${size})`);
    console.log(`ship it: aws deploy push --application-name APP --s3-location s3://BUCKET/KEY.zip --source ${out}`);
    return 0;
  } catch (error) {
    return fail((error as Error).message);
  }
}

/**
 * The hooks to bundle, and what to do when they are missing: a release's `portproof` takes its own arch's from hooks/
 * beside its real path (a link onto the PATH is followed); the checkout's CLI takes dist/linux-<arch>/hooks for --arch
 * (default: this machine's).
 */
function findHooks(wanted: string | undefined): { arch: Arch; dir: string; hint: string } | { problem: string } {
  if (wanted !== undefined && !Arches.includes(wanted as Arch))
    return { problem: `--arch ${wanted}: use x64 or arm64` };
  if (sea.isSea()) {
    const own = hostArch() ?? 'x64';
    if (wanted !== undefined && wanted !== own) {
      return { problem: `--arch ${wanted}: this release is for linux-${own}; use the linux-${wanted} archive` };
    }
    const home = path.dirname(fs.realpathSync(process.execPath));
    const hint = `portproof takes the hooks from hooks/ beside it, in ${home}: install the whole unpacked release (README: Install)`;
    return { arch: own, dir: path.join(home, 'hooks'), hint };
  }
  const arch = (wanted ?? hostArch() ?? 'x64') as Arch;
  return { arch, dir: distHooksDir(arch), hint: `in this checkout: npm run build` };
}

function fail(message: string): number {
  console.error(`portproof bundle: ${message}`);
  return 2;
}
