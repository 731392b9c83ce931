import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RepoRoot } from '../../build/paths.ts';
import { HookEntries } from '../../src/core/events.ts';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bundle-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

const bundle = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(RepoRoot, 'bin/portproof.js'), 'bundle', ...args], {
    cwd: RepoRoot,
    encoding: 'utf8',
  });

describe('portproof bundle', () => {
  it('assembles a revision: appspec, config, executable hooks for the arch, and the named files under app/', () => {
    const jar = path.join(temp, 'app.jar');
    fs.writeFileSync(jar, 'not really a jar');
    const out = path.join(temp, 'rev');
    const run = bundle('--arch', 'arm64', '--out', out, '--config', 'portproof.example.yml', jar);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['app', 'appspec.yml', 'hooks', 'portproof.yml']);
    expect(fs.readdirSync(path.join(out, 'app'))).toEqual(['app.jar']);
    for (const name of HookEntries) {
      const stat = fs.statSync(path.join(out, 'hooks', name));
      expect(stat.mode & 0o777).toBe(0o755);
      expect(fs.lstatSync(path.join(out, 'hooks', name)).isSymbolicLink()).toBe(false);
    }
    expect(fs.readFileSync(path.join(out, 'hooks/validate')).subarray(0, 20).readUInt16LE(18)).toBe(183); // EM_AARCH64
    expect(fs.readFileSync(path.join(out, 'portproof.yml'), 'utf8')).toBe(
      fs.readFileSync(path.join(RepoRoot, 'portproof.example.yml'), 'utf8'),
    );
  });

  it("the example appspec's files: copies the app's files and not the hooks", () => {
    const out = path.join(temp, 'copied');
    const jar = path.join(temp, 'app.jar');
    fs.writeFileSync(jar, 'not really a jar');
    expect(bundle('--out', out, '--config', 'portproof.example.yml', jar).status).toBe(0);
    const appspec = parse(fs.readFileSync(path.join(out, 'appspec.yml'), 'utf8')) as { files: { source: string }[] };
    // What CodeDeploy's Install event copies: each source, relative to the revision's root.
    const copied = appspec.files.flatMap(({ source }) => {
      const from = path.join(out, source);
      return fs.statSync(from).isDirectory()
        ? fs.readdirSync(from, { recursive: true }).map(String)
        : [path.basename(from)];
    });
    expect(copied).toEqual(['app.jar']);
  });

  it('refuses to ship no files unless told (--no-files), and waits longer than the appspec allows, exit 2', () => {
    const out = path.join(temp, 'empty');
    const empty = bundle('--out', out, '--config', 'portproof.example.yml');
    expect([empty.status, empty.stdout]).toEqual([2, '']);
    expect(empty.stderr.trim()).toBe(
      "portproof bundle: name the app's files (PATH...): the revision's app/ would be empty and the app would " +
        'have nothing to run (--no-files when the host already holds them)',
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(bundle('--out', out, '--config', 'portproof.example.yml', '--no-files').status).toBe(0);
    // appspec.yml gives ApplicationStart 180 s and ValidateService 300 s.
    const slow = path.join(temp, 'slow.yml');
    const example = fs.readFileSync(path.join(RepoRoot, 'portproof.example.yml'), 'utf8');
    const config = parse(example) as { start?: object; health: object };
    fs.writeFileSync(
      slow,
      stringify({ ...config, start: { timeout: '5m' }, health: { ...config.health, timeout: '300s', settle: '5s' } }),
    );
    const jar = path.join(temp, 'app.jar');
    fs.writeFileSync(jar, 'jar');
    const late = bundle('--out', path.join(temp, 'late'), '--config', slow, jar);
    expect([late.status, late.stdout]).toEqual([2, '']);
    const lines = late.stderr.trim().split('\n');
    expect(lines).toContain(
      `portproof bundle: config ${slow}: start.timeout: 5 m is not shorter than appspec.yml's ApplicationStart timeout ` +
        '(180 s): CodeDeploy would end the hook first; raise the appspec timeout or lower start.timeout',
    );
    expect(lines.at(-1)).toMatch(/health\.timeout \+ health\.settle: .*ValidateService timeout \(300 s\)|and 1 more/);
    expect(fs.existsSync(path.join(temp, 'late'))).toBe(false);
  });

  it('refuses a non-empty directory without --force, and missing inputs, with one line and exit 2', () => {
    const out = path.join(temp, 'busy');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep'), 'x');
    const busy = bundle('--out', out, '--config', 'portproof.example.yml', '--no-files');
    expect([busy.status, busy.stderr.trim()]).toEqual([
      2,
      `portproof bundle: ${out} is not empty (use --force to replace its contents)`,
    ]);
    expect(fs.readdirSync(out)).toEqual(['keep']);
    const missing = bundle('--out', path.join(temp, 'x'), '--config', 'nope.yml', '--no-files');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^portproof bundle: .*nope\.yml: not found$/);
  });
});
