import fs from 'node:fs';
import path from 'node:path';
import { RepoRoot } from './paths.ts';

/** portproof's version, from package.json: read by the build only, never imported by the core. */
export function readPackageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(RepoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The esbuild (and vitest) define that puts the version into src/core/version.ts. */
export function versionDefine(): Record<string, string> {
  return { __PORTPROOF_VERSION__: JSON.stringify(readPackageVersion()) };
}
