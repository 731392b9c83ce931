import fs from 'node:fs';
import path from 'node:path';
import * as sea from 'node:sea';
import { parseArgs } from 'node:util';
import { assembleBundle } from '../../../build/assemble-bundle.ts';
import { Arches, distHooksDir, hostArch, type Arch } from '../../../build/paths.ts';
import { parse as parseYaml } from 'yaml';
import { checkWaitsFitAppspec } from '../../core/codedeploy/check-waits.ts';
import { checkPortableConfig, configProblems } from '../../core/config/load.ts';
import { configSchema } from '../../core/config/schema.ts';
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
        'no-files': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail(`${describeArgsError(error)} (see --help)`);
  }
  const { values, positionals } = parsed;
  const hooks = findHooks(values.arch);
  if ('problem' in hooks) return fail(hooks.problem);
  if (!values.out) return fail('--out DIR is required (see --help)');
  if (positionals.length === 0 && !values['no-files']) {
    const why = "the revision's app/ would be empty and the app would have nothing to run";
    return fail(`name the app's files (PATH...): ${why} (--no-files when the host already holds them)`);
  }
  const config = path.resolve(values.config ?? 'portproof.yml');
  const out = path.resolve(values.out);
  try {
    // The rules the hooks would apply on the host, applied before the upload: a typo fails here, not mid-deployment.
    const appspec = path.resolve(values.appspec ?? 'appspec.yml');
    const problems = checkPortableConfig(config);
    if (problems.length === 0) problems.push(...checkWaits(config, appspec));
    if (problems.length > 0) {
      const error = configProblems(config, problems);
      for (const line of error.context.evidence ?? []) console.error(`portproof bundle: ${line}`);
      return fail(error.message);
    }
    const written = assembleBundle({
      arch: hooks.arch,
      out,
      appspec,
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
    const install = 'install the whole unpacked release (README: Install)';
    const hint = `portproof takes the hooks from hooks/ beside it, in ${home}: ${install}`;
    return { arch: own, dir: path.join(home, 'hooks'), hint };
  }
  const arch = (wanted ?? hostArch() ?? 'x64') as Arch;
  return { arch, dir: distHooksDir(arch), hint: `in this checkout: npm run build` };
}

/** The config's waits against the appspec's hook timeouts; an appspec not there is reported by the assembly. */
function checkWaits(config: string, appspec: string): string[] {
  if (!fs.existsSync(appspec)) return [];
  const parsed = configSchema.safeParse(parseYaml(fs.readFileSync(config, 'utf8')) ?? {});
  // Only a host-bound rule (health.tls.ca's file) can still fail here: the waits are checked on the host then.
  if (!parsed.success) return [];
  return checkWaitsFitAppspec(parsed.data, fs.readFileSync(appspec, 'utf8'));
}

function fail(message: string): number {
  console.error(`portproof bundle: ${message}`);
  return 2;
}
