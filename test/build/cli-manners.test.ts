import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RepoRoot } from '../../build/paths.ts';
import { readPackageVersion } from '../../build/version.ts';
import { Commands } from '../../src/cli/commands.ts';

// The workstation CLI as a person meets it: help everywhere, a version, usage errors on stderr with exit 2 only.

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(RepoRoot, 'bin/portproof.js'), ...args], { encoding: 'utf8' });

describe('portproof, the command', () => {
  it('prints its help, exit 0, with --help or as help; run bare, the same help on stderr, exit 2', () => {
    const bare = cli();
    expect([bare.status, bare.stdout]).toEqual([2, '']);
    expect(bare.stderr).toContain('usage: portproof COMMAND [options]');
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = cli(...args);
      expect([run.status, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toContain('usage: portproof COMMAND [options]');
      for (const name of Object.keys(Commands)) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  it('prints its version, and so does every command with --version, exit 0', () => {
    for (const flag of ['--version', '-v', 'version']) {
      expect(cli(flag).stdout.trim()).toBe(`portproof ${readPackageVersion()}`);
    }
    for (const name of Object.keys(Commands)) {
      const run = cli(name, '--version');
      expect([run.status, run.stderr], name).toEqual([0, '']);
      expect(run.stdout.trim(), name).toMatch(new RegExp(`^portproof ${readPackageVersion()}`));
    }
  });

  it.each(Object.keys(Commands))('%s --help and help %s print its usage, exit 0', (name) => {
    const viaFlag = cli(name, '--help');
    const viaHelp = cli('help', name);
    expect([viaFlag.status, viaFlag.stderr]).toEqual([0, '']);
    expect(viaFlag.stdout).toMatch(/usage: /);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  it('answers an unknown command or option on stderr, exit 2, one line', () => {
    const unknown = cli('deploy');
    expect([unknown.status, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr.trim()).toMatch(/^portproof: unknown command "deploy"; the commands: init, bundle/);
    expect(cli('bundel').stderr.trim()).toBe('portproof: unknown command "bundel"; did you mean bundle?');
    const check = cli('--check');
    expect([check.status, check.stdout]).toEqual([2, '']);
    expect(check.stderr.trim()).toMatch(/^portproof: --check is a flag of the hooks.*hooks\/validate --check$/);
    for (const name of ['bundle', 'owners', 'build', 'init']) {
      const bad = cli(name, '--bogus');
      expect([bad.status, bad.stdout]).toEqual([2, '']);
      expect(bad.stderr.trim()).toBe(`portproof ${name}: Unknown option '--bogus' (see --help)`);
    }
  });

  it('ends quietly when the reader of its output has left (a closed pipe): hooks and CLI alike', () => {
    // `| true` closes the pipe before the writer starts: every write meets EPIPE, as `--check | head` does after a line.
    const hook = path.join(RepoRoot, 'hooks/stop');
    const cliBin = path.join(RepoRoot, 'bin/portproof.js');
    const script = 'for i in 1 2 3; do "$1" --help | true; "$2" "$3" help | true; done';
    const run = spawnSync('/bin/sh', ['-c', script, 'sh', hook, process.execPath, cliBin], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
