import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { distHooksDir, RepoRoot } from '../../build/paths.ts';
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

/** The shell block of README.md's Install section that unpacks the archive, as written. */
function readmeInstallBlock(): string {
  const readme = fs.readFileSync(path.join(RepoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('tar -xzf'));
  if (block === undefined) throw new Error("README.md: no sh block with 'tar -xzf' (the Install section)");
  return block;
}

/**
 * Run README's Install block in `dir` (the archives and SHA256SUMS) from a fresh root shell (env -i, bash without
 * profile or rc, the PATH of a root login), with /usr/local moved under `prefix`: the test changes nothing on the host.
 */
function runReadmeInstall(dir: string, prefix: string) {
  fs.mkdirSync(path.join(prefix, 'usr/local/bin'), { recursive: true });
  const script = readmeInstallBlock().replaceAll('/usr/local/', `${prefix}/usr/local/`);
  const rootPath = `${prefix}/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  return runFile('env', ['-i', `PATH=${rootPath}`, 'bash', '--noprofile', '--norc', '-e', '-c', script], { cwd: dir });
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

    // The README's Install steps, word for word but for /usr/local moved into scratch, from a fresh root shell.
    const prefix = fs.mkdtempSync(path.join(temp, 'root-'));
    const install = await runReadmeInstall(out, prefix);
    expect([install.status, install.stderr]).toEqual([0, '']);
    expect(install.stdout).toContain(`portproof-${version}-linux-x64.tar.gz: OK`);
    expect(install.stdout.trim().split('\n').at(-1)).toBe(`portproof ${version}`);
    const bin = path.join(prefix, 'usr/local/bin');
    expect(fs.lstatSync(path.join(bin, 'portproof')).isSymbolicLink()).toBe(true);
    // `portproof` as the PATH finds it: the link, its hooks found beside the link's target.
    const onPath = (args: string[], cwd: string) =>
      runFile('portproof', args, { cwd, env: { PATH: `${bin}:/usr/bin:/bin` } });
    const usage = await onPath([], root);
    expect([usage.status, usage.stdout]).toEqual([2, '']);
    expect([...usage.stderr.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1])).toEqual(['init', 'bundle', 'why', 'owners']);

    const project = fs.mkdtempSync(path.join(temp, 'project-'));
    const init = await onPath(['init', '--command', 'java -jar app.jar', '--user', 'app'], project);
    expect([init.status, init.stderr]).toEqual([0, '']);
    fs.writeFileSync(path.join(project, 'app.jar'), 'jar');
    const bundle = await onPath(['bundle', '--out', 'rev', 'app.jar'], project);
    expect(bundle.stderr).toBe('');
    expect(bundle.stdout).toContain(`wrote the revision for linux-x64 to ${path.join(project, 'rev')}`);
    for (const name of HookEntries) {
      expect(digest(path.join(project, 'rev/hooks', name))).toBe(digest(path.join(root, 'hooks', name)));
    }
    const arm = await onPath(['bundle', '--arch', 'arm64', '--out', 'rev2'], project);
    expect([arm.status, arm.stderr.trim()]).toEqual([
      2,
      'portproof bundle: --arch arm64: this release is for linux-x64; use the linux-arm64 archive',
    ]);
    // The CLI copied away from its hooks (the old README's `install portproof /usr/local/bin/`): advice for a
    // release, not for a checkout.
    const alone = fs.mkdtempSync(path.join(temp, 'alone-'));
    fs.copyFileSync(path.join(root, 'portproof'), path.join(alone, 'portproof'));
    fs.chmodSync(path.join(alone, 'portproof'), 0o755);
    const lost = await bare(path.join(alone, 'portproof'), ['bundle', '--out', 'rev3', 'app.jar'], project);
    expect(lost.status).toBe(2);
    expect(lost.stderr).toContain(`${alone}/hooks/stop: missing (portproof takes the hooks from hooks/ beside it`);
    expect(lost.stderr).toContain('install the whole unpacked release (README: Install)');
    expect(lost.stderr).not.toContain('npm');

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
