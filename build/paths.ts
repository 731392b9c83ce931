import path from 'node:path';
import { HookEntries } from '../src/core/events.ts';

/** The two targets: Node's arch names, as the npm packages node-linux-<arch> use them. */
export type Arch = 'x64' | 'arm64';
export const Arches: Arch[] = ['x64', 'arm64'];
/** The hook executables, by entry name (src/core/events.ts). */
export const HookNames = HookEntries;

/** The repository root, whatever the working directory. */
export const RepoRoot = path.resolve(import.meta.dirname, '..');
/** Downloads and intermediate files, never committed. */
export const CacheDir = path.join(RepoRoot, '.cache');

/** Where the hooks for an arch land: dist/linux-<arch>/hooks. */
export function distHooksDir(arch: Arch, outRoot = path.join(RepoRoot, 'dist')): string {
  return path.join(outRoot, `linux-${arch}`, 'hooks');
}

/** The arch of the machine running this, if it is one portproof targets. */
export function hostArch(): Arch | null {
  return process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
}
