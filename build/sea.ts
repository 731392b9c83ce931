import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inject } from 'postject';
import type { HookBundle } from './bundle.ts';
import { replaceFile } from './replace-file.ts';

/** The fuse Node's single-executable support looks for; postject flips it when it injects the blob. */
const SeaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Turn a hook's bundle into Node's single-executable blob, using the x64 runtime of the very version it is injected
 * into: the launcher is the main script, the hook an asset. No code cache and no snapshot: both are
 * architecture-specific and not byte-for-byte reproducible, and the same blob goes into the arm64 binary.
 */
export function generateSeaBlob(bundle: HookBundle, hostRuntime: string): string {
  const blob = bundle.hook.replace(/\.cjs$/, '.blob');
  const config = `${bundle.hook}.sea.json`;
  fs.writeFileSync(config, JSON.stringify({ main: bundle.launcher, output: blob, assets: { 'hook.cjs': bundle.hook }, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
  execFileSync(hostRuntime, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return blob;
}

/** Copy a stripped runtime and inject the blob into it with postject, then move it into place atomically. */
export async function injectBlob(runtime: string, blob: string, output: string): Promise<void> {
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const temp = `${output}.tmp`;
  fs.copyFileSync(runtime, temp);
  await inject(temp, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SeaFuse });
  replaceFile(temp, output);
}
