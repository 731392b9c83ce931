import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { distHooksDir } from '../../build/paths.ts';
import { packRelease } from '../../build/release.ts';
import { readPackageVersion } from '../../build/version.ts';
import { HookEntries } from '../../src/core/events.ts';
import { runFile } from '../support/run-file.ts';

// `npm run release` packs what the README's Install section downloads: the archives are built, unpacked and run here,
// with no Node.js on PATH, as on a fresh host.

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-release-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));
const version = readPackageVersion();
const QemuHint =
  'qemu-aarch64-static not found: apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';

// Executables are compared by digest: a deep equality over 100 MB buffers would take minutes.
const digest = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const bare = (file: string, args: string[], cwd: string) =>
  runFile(file, args, { cwd, env: { PATH: '/usr/bin:/bin' } });

async function unpack(archive: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(temp, 'unpacked-'));
  const tar = await runFile('tar', ['-xzf', archive, '-C', dir]);
  expect(tar.status).toBe(0);
  return path.join(dir, path.basename(archive, '.tar.gz'));
}

describe('the release archives', () => {
  it('hold the CLI and the three hooks per arch, with checksums; the x64 CLI inits and bundles with no Node.js', async () => {
    const out = path.join(temp, 'release');
    const archives = await packRelease(['x64', 'arm64'], out);
    expect(archives.map((a) => path.basename(a))).toEqual([
      `portproof-${version}-linux-x64.tar.gz`,
      `portproof-${version}-linux-arm64.tar.gz`,
    ]);
    const sums = await runFile('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
    expect(sums.stdout.trim().split('\n')).toEqual(archives.map((a) => `${path.basename(a)}: OK`));

    const root = await unpack(archives[0]!);
    expect(fs.readdirSync(root).sort()).toEqual(['hooks', 'portproof']);
    for (const name of HookEntries) {
      expect(digest(path.join(root, 'hooks', name))).toBe(digest(path.join(distHooksDir('x64'), name)));
    }
    const cli = path.join(root, 'portproof');
    expect((await bare(cli, ['--version'], root)).stdout.trim()).toBe(`portproof ${version}`);
    const help = await bare(cli, [], root);
    expect(help.status).toBe(0);
    expect([...help.stdout.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1])).toEqual(['init', 'bundle', 'why', 'owners']);

    const project = fs.mkdtempSync(path.join(temp, 'project-'));
    const init = await bare(cli, ['init', '--command', 'java -jar app.jar', '--user', 'app'], project);
    expect([init.status, init.stderr]).toEqual([0, '']);
    fs.writeFileSync(path.join(project, 'app.jar'), 'jar');
    const bundle = await bare(cli, ['bundle', '--out', 'rev', 'app.jar'], project);
    expect(bundle.stderr).toBe('');
    expect(bundle.stdout).toContain(`wrote the revision for linux-x64 to ${path.join(project, 'rev')}`);
    for (const name of HookEntries) {
      expect(digest(path.join(project, 'rev/hooks', name))).toBe(digest(path.join(root, 'hooks', name)));
    }
    const arm = await bare(cli, ['bundle', '--arch', 'arm64', '--out', 'rev2'], project);
    expect([arm.status, arm.stderr.trim()]).toEqual([
      2,
      'portproof bundle: --arch arm64: this release is for linux-x64; use the linux-arm64 archive',
    ]);

    // arm64: the CLI and a hook answer under qemu-user.
    const emulator = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => fs.existsSync(p));
    if (!emulator || !fs.existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1')) throw new Error(QemuHint);
    const armRoot = await unpack(archives[1]!);
    for (const [file, expected] of [
      [path.join(armRoot, 'portproof'), `portproof ${version}`],
      [path.join(armRoot, 'hooks/stop'), `portproof ${version} (ApplicationStop)`],
    ] as const) {
      const run = await bare(emulator, ['-L', '/usr/aarch64-linux-gnu', file, '--version'], armRoot);
      expect(run.stdout).toContain(expected);
    }
  }, 600_000);
});
