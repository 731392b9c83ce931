import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The README's two commands, run by a real /bin/sh against stand-ins for apt-get, npm and sudo that record how they
// were called: once in a root shell without sudo (a fresh Debian image), once with sudo on the PATH.

const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Two commands'),
  readme.indexOf('\n## ', readme.indexOf('## Two commands') + 3),
);
const commands = [...section.matchAll(/```sh\n(.+)\n```/g)].map((m) => m[1]!);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-readme-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runWithStubs(command: string, withSudo: boolean): string[] {
  const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
  const calls = path.join(bin, 'calls');
  const stub = (name: string, then = '') =>
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${calls}\n${then}`, { mode: 0o755 });
  stub('apt-get');
  stub('npm');
  if (withSudo) stub('sudo', 'exec "$@"\n');
  fs.symlinkSync('/usr/bin/env', path.join(bin, 'env'));
  const result = spawnSync('/bin/sh', ['-c', command], { env: { PATH: bin }, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return fs.readFileSync(calls, 'utf8').trim().split('\n');
}

describe("the README's two commands", () => {
  it('are two, each one line', () => {
    expect(commands).toHaveLength(2);
  });

  it.each([0, 1])('command %i runs in a root shell without sudo', (index) => {
    const calls = runWithStubs(commands[index]!, false);
    expect(calls[0]).toBe('apt-get update');
    expect(calls[1]).toMatch(/^apt-get install -y nginx-light /);
    expect(calls.slice(2)).toEqual(['npm ci', index === 0 ? 'npm start' : 'npm test']);
  });

  it.each([0, 1])('command %i runs as a user with sudo: installs and tests as root, builds as the user', (index) => {
    const calls = runWithStubs(commands[index]!, true);
    expect(calls[0]).toBe('sudo apt-get update');
    expect(calls[2]).toMatch(/^sudo apt-get install -y nginx-light /);
    expect(calls).toContain('npm ci');
    expect(calls.at(-1)).toBe(index === 0 ? 'npm start' : 'npm test');
    if (index === 1) expect(calls.at(-2)).toMatch(/^sudo env PATH=.* npm test$/);
  });

  it('installs what .ci/run installs, so a fresh machine that follows the README runs the same suite', () => {
    const ci = fs.readFileSync(path.resolve(import.meta.dirname, '../../.ci/run'), 'utf8');
    const ciPackages = /^packages=\(([^)]*)\)/m.exec(ci)![1]!.trim().split(/\s+/);
    const readmePackages = /apt-get install -y ([^&]+)&&/.exec(commands[1]!)![1]!.trim().split(/\s+/);
    expect(readmePackages.sort()).toEqual(ciPackages.sort());
  });
});
