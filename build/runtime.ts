import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pins from './runtimes.json' with { type: 'json' };
import { CacheDir, type Arch } from './paths.ts';
import { replaceFile } from './replace-file.ts';

/** The pinned Node version every hook binary is built on. */
export const RuntimeVersion: string = pins.version;

/** Which strip handles each arch's ELF files (binutils for the host, binutils-aarch64-linux-gnu for arm64). */
const stripFor: Record<Arch, string> = { x64: 'strip', arm64: 'aarch64-linux-gnu-strip' };
const stripPackage: Record<Arch, string> = { x64: 'binutils', arm64: 'binutils-aarch64-linux-gnu' };

/**
 * The official Node runtime for an arch, from the npm registry package node-linux-<arch> at the pinned version:
 * fetched with `npm pack`, checked against the pinned sha512, extracted, stripped, cached under .cache/runtimes.
 */
export function prepareRuntime(arch: Arch): string {
  const dir = path.join(CacheDir, 'runtimes');
  const stripped = path.join(dir, `node-${RuntimeVersion}-linux-${arch}-stripped`);
  if (fs.existsSync(stripped)) return stripped;
  fs.mkdirSync(dir, { recursive: true });
  const tarball = path.join(dir, `node-linux-${arch}-${RuntimeVersion}.tgz`);
  if (!fs.existsSync(tarball)) {
    // The one network access of the build: the npm registry, through npm itself (its config, proxy and cache).
    execFileSync('npm', ['pack', `node-linux-${arch}@${RuntimeVersion}`, '--pack-destination', dir, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  verifyIntegrity(tarball, pins.integrity[arch]);
  const extractDir = fs.mkdtempSync(path.join(dir, 'extract-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', extractDir, 'package/bin/node']);
    const temp = `${stripped}.tmp`;
    try {
      execFileSync(stripFor[arch], ['--strip-all', '-o', temp, path.join(extractDir, 'package/bin/node')]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new Error(`${stripFor[arch]} not found: apt-get install -y ${stripPackage[arch]}`);
    }
    replaceFile(temp, stripped);
  } finally {
    fs.rmSync(extractDir, { recursive: true, force: true });
  }
  return stripped;
}

function verifyIntegrity(file: string, expected: string): void {
  const actual = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
  if (actual !== expected) {
    fs.rmSync(file);
    throw new Error(
      `${path.basename(file)}: integrity ${actual} does not match the pinned ${expected} (build/runtimes.json)`,
    );
  }
}
