import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Arches, distHooksDir, RepoRoot } from '../../build/paths.ts';
import { HookEntries } from '../../src/core/events.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { runFile } from '../support/run-file.ts';

const QemuHint =
  'qemu-aarch64-static not found: apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-binary-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

const version = JSON.parse(fs.readFileSync(path.join(RepoRoot, 'package.json'), 'utf8')).version as string;
const runtime = JSON.parse(fs.readFileSync(path.join(RepoRoot, 'build/runtimes.json'), 'utf8')).version as string;
const noNode = { PATH: '/nonexistent' };

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A revision directory somewhere else with the given binary as hooks/validate and a one-port config. */
async function relocatedRevision(binary: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(temp, 'rev-'));
  fs.mkdirSync(path.join(dir, 'hooks'));
  fs.copyFileSync(binary, path.join(dir, 'hooks/validate'));
  fs.chmodSync(path.join(dir, 'hooks/validate'), 0o755);
  const port = await findFreePort();
  fs.writeFileSync(
    path.join(dir, 'portproof.yml'),
    stringify({
      app: { name: 'demo', command: ['/bin/sleep', '1000'], supervisor: 'direct' },
      ports: [port],
      health: { url: 'http://127.0.0.1:{port}/' },
      stateDir: path.join(dir, 'state'),
    }),
  );
  fs.copyFileSync(path.join(RepoRoot, 'appspec.yml'), path.join(dir, 'appspec.yml'));
  return dir;
}

/** The flags word of the single-executable blob postject placed in a binary (its last SEA magic, 0x0143da20). */
function seaBlobFlags(binary: string): number {
  const bytes = fs.readFileSync(binary);
  const at = bytes.lastIndexOf(Buffer.from([0x20, 0xda, 0x43, 0x01]));
  if (at < 0) throw new Error(`${binary}: no single-executable blob`);
  return bytes.readUInt32LE(at + 4);
}
const UseCodeCache = 1 << 2; // node's SeaFlags::kUseCodeCache

function qemu(): string {
  const found = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => fs.existsSync(p));
  if (!found || !fs.existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1')) throw new Error(QemuHint);
  return found;
}

describe('the compiled hooks', () => {
  it.each(HookEntries)('x64 %s runs with no Node.js anywhere on PATH', (name) => {
    const binary = path.join(distHooksDir('x64'), name);
    const run = spawnSync(binary, ['--version'], { env: noNode, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^portproof ${version.replace(/\./g, '\\.')} \\(\\w+\\) node v${runtime.replace(/\./g, '\\.')} linux-x64\\n$`,
      ),
    );
    // A code cache V8 refused would print "Code cache data rejected" (SEA's) or "code cache data rejected" (ours).
    expect(run.stderr).toBe('');
    const help = spawnSync(binary, ['--help'], { env: noNode, encoding: 'utf8' });
    expect(help.stdout).toContain(`usage: hooks/${name}`);
    expect(fs.statSync(binary).size).toBeLessThan(115 * 1024 * 1024);
  });

  it("x64 hooks carry V8's code cache; the cross-built arm64 ones do not", () => {
    for (const name of HookEntries) {
      expect(seaBlobFlags(path.join(distHooksDir('x64'), name)) & UseCodeCache).toBe(UseCodeCache);
      expect(seaBlobFlags(path.join(distHooksDir('arm64'), name)) & UseCodeCache).toBe(0);
    }
  });

  it('x64 hooks run their bundle with the code cache of a warm-up run (SEA assets); arm64 hooks carry none', () => {
    for (const name of HookEntries) {
      // The asset names are in the blob (and in build/sea-main.cjs, the x64 main script, which arm64 does not carry).
      expect(fs.readFileSync(path.join(distHooksDir('x64'), name)).includes('hook.cache')).toBe(true);
      expect(fs.readFileSync(path.join(distHooksDir('arm64'), name)).includes('hook.cache')).toBe(false);
    }
  });

  it('finds portproof.yml and appspec.yml beside itself, wherever it was moved and whatever the working directory', async () => {
    const dir = await relocatedRevision(path.join(distHooksDir('x64'), 'validate'));
    const run = spawnSync(path.join(dir, 'hooks/validate'), ['--check'], { cwd: '/', env: noNode, encoding: 'utf8' });
    expect(run.stdout).toContain(`config: ${path.join(dir, 'portproof.yml')}`);
    // A status: nothing listens on the live port (exit 3, as systemctl status says "not running").
    expect(run.stdout).toMatch(/portproof ValidateService UNHEALTHY: live port \d+: nothing listening/);
    expect(run.status).toBe(3);
    // V8 took the warm-up's code cache for a real run too: a rejection would be said here.
    expect(run.stderr).toBe('');
  });

  it('arm64 binaries run under qemu-user: --version and --check', async () => {
    const emulator = qemu();
    const binary = path.join(distHooksDir('arm64'), 'validate');
    const run = spawnSync(emulator, ['-L', '/usr/aarch64-linux-gnu', binary, '--version'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`portproof ${version} (ValidateService) node v${runtime} linux-arm64`);
    const dir = await relocatedRevision(binary);
    const check = spawnSync(
      emulator,
      ['-L', '/usr/aarch64-linux-gnu', path.join(dir, 'hooks/validate'), '--check', '--json'],
      { cwd: '/', encoding: 'utf8' },
    );
    expect(check.status).toBe(3);
    expect(JSON.parse(check.stdout)).toMatchObject({
      config: path.join(dir, 'portproof.yml'),
      app: 'demo',
      ports: [{ role: 'in-place', owners: [] }],
    });
  }, 120_000);

  it('is reproducible: same inputs, same bytes for both arches (code cache included), with an empty home', async () => {
    const out = path.join(temp, 'rebuild');
    const home = fs.mkdtempSync(path.join(temp, 'home-'));
    // npm run build as a fresh machine runs it: nothing from the user's home; pkg is given its own.
    const build = await runFile(process.execPath, [path.join(RepoRoot, 'bin/portproof.js'), 'build', '--out', out], {
      cwd: RepoRoot,
      env: { ...process.env, HOME: home },
    });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    expect(fs.readdirSync(home)).toEqual([]);
    for (const arch of Arches) {
      for (const name of HookEntries) {
        expect(sha256(path.join(distHooksDir(arch, out), name))).toBe(sha256(path.join(distHooksDir(arch), name)));
      }
    }
  }, 240_000);
});
