import path from 'node:path';
import { parseArgs } from 'node:util';
import { assembleBundle } from '../../../build/assemble-bundle.ts';
import { hostArch } from '../../../build/build-hooks.ts';
import { Arches, type Arch } from '../../../build/paths.ts';

/** `portproof bundle [--arch x64|arm64] --out DIR [--config FILE] [--appspec FILE] [--force] [FILES...]` */
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
    console.error(`portproof bundle: ${(error as Error).message.split('\n')[0]}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const arch = (values.arch ?? hostArch() ?? 'x64') as Arch;
  if (!Arches.includes(arch)) return usageError(`--arch ${values.arch}: use x64 or arm64`);
  if (!values.out) return usageError('--out DIR is required');
  try {
    const written = assembleBundle({
      arch,
      out: path.resolve(values.out),
      appspec: path.resolve(values.appspec ?? 'appspec.yml'),
      config: path.resolve(values.config ?? 'portproof.yml'),
      files: positionals.map((f) => path.resolve(f)),
      force: values.force,
    });
    console.log(`revision for linux-${arch} in ${path.resolve(values.out)}: ${written.join(', ')}`);
    console.log('ship it with: aws deploy push --application-name APP --s3-location s3://BUCKET/KEY --source DIR');
    return 0;
  } catch (error) {
    return usageError((error as Error).message);
  }
}

function usageError(message: string): number {
  console.error(`portproof bundle: ${message}`);
  return 2;
}
