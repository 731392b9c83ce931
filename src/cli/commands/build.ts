import { describeArgsError } from '../dispatch.ts';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { buildHooks } from '../../../build/build-hooks.ts';
import { Arches, type Arch } from '../../../build/paths.ts';

/** `portproof build [--arch x64|arm64] [--out DIR]`: compile the hooks into single binaries. */
export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { arch: { type: 'string' }, out: { type: 'string' } } }));
  } catch (error) {
    console.error(`portproof build: ${describeArgsError(error)} (see --help)`);
    return 2;
  }
  if (values.arch !== undefined && !Arches.includes(values.arch as Arch)) {
    console.error(`portproof build: --arch ${values.arch}: use x64 or arm64`);
    return 2;
  }
  const startedAt = Date.now();
  const arches = values.arch ? [values.arch as Arch] : Arches;
  const built = await buildHooks(arches, values.out ? path.resolve(values.out) : undefined);
  for (const hook of built) console.log(`${hook.file}  ${(hook.bytes / 1e6).toFixed(1)} MB`);
  console.log(`built ${built.length} hooks in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  return 0;
}
