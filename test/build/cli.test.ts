import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../build/build-cli.ts';
import { RepoRoot } from '../../build/paths.ts';
import { readPackageVersion } from '../../build/version.ts';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-cli-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

describe('the workstation CLI', () => {
  it('runs compiled from dist/cli, with no TypeScript loader and the version defined by the build', () => {
    const bin = path.join(RepoRoot, 'bin/portproof.js');
    expect(fs.existsSync(path.join(RepoRoot, 'dist/cli/portproof.js'))).toBe(true);
    const version = run(bin, ['stop', '--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout).toMatch(
      new RegExp(`^portproof ${readPackageVersion().replace(/\./g, '\\.')} \\(ApplicationStop\\)`),
    );
    // The compiled chunks name no source file to load: nothing under dist/cli imports a .ts module.
    for (const file of fs.readdirSync(path.join(RepoRoot, 'dist/cli'))) {
      expect(fs.readFileSync(path.join(RepoRoot, 'dist/cli', file), 'utf8')).not.toMatch(/from ["'][^"']*\.ts["']/);
    }
  });

  it('answers the same from source through tsx when asked, and says so when the compiled file is missing', async () => {
    const compiled = run(path.join(RepoRoot, 'bin/portproof.js'), ['owners', '0']);
    const source = run(path.join(RepoRoot, 'bin/portproof.js'), ['owners', '0'], {
      ...process.env,
      PORTPROOF_CLI_FROM_SOURCE: '1',
    });
    expect([source.status, source.stdout, source.stderr]).toEqual([compiled.status, compiled.stdout, compiled.stderr]);
    expect(compiled.status).toBe(2);

    // A checkout with no dist/cli: bin/portproof.js beside src/, as before npm ci's prepare ran.
    fs.mkdirSync(path.join(temp, 'bin'));
    fs.copyFileSync(path.join(RepoRoot, 'bin/portproof.js'), path.join(temp, 'bin/portproof.js'));
    fs.copyFileSync(path.join(RepoRoot, 'package.json'), path.join(temp, 'package.json'));
    fs.symlinkSync(path.join(RepoRoot, 'src'), path.join(temp, 'src'));
    fs.symlinkSync(path.join(RepoRoot, 'node_modules'), path.join(temp, 'node_modules'));
    const missing = run(path.join(temp, 'bin/portproof.js'), ['stop', '--version']);
    expect(missing.stderr).toContain('dist/cli/portproof.js is missing (run `npm run build:cli`)');
    expect(missing.stdout).toContain(`portproof ${readPackageVersion()} (ApplicationStop)`);

    // And the build puts it there.
    await buildCli(path.join(temp, 'dist/cli'));
    const built = run(path.join(temp, 'bin/portproof.js'), ['stop', '--version']);
    expect([built.status, built.stderr]).toEqual([0, '']);
  });
});
