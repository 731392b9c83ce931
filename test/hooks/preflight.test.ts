import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import type { Revision } from '../../src/lab/agent.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, remember } from '../support/hook-tests.ts';

afterEach(async () => stopAll());
afterAll(cleanUpHookTests);

function editConfig(revision: Revision, edit: (config: Record<string, any>) => void): void {
  const config = parse(fs.readFileSync(revision.configPath, 'utf8'));
  edit(config);
  fs.writeFileSync(revision.configPath, stringify(config));
}

describe('preflight: everything the config implies is checked before anything is touched', () => {
  it('a user that does not exist: exit 2 naming app.user, and the old app keeps running', async () => {
    const port = await findFreePort();
    const { stateDir, revision: v1 } = await deployed({ ports: [port], versionTag: 'v1' });
    expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
    const oldPid = remember(stateDir, port);
    const { revision: v2 } = await deployed({
      ports: [port],
      versionTag: 'v2',
      app: { user: 'no-such-user-pp' },
      stateDir,
    });
    const run = await v2.run('start');
    expect(run.code).toBe(2);
    expect(run.lines).toHaveLength(1);
    expect(run.verdict).toMatch(
      /^portproof ApplicationStart FAILED: config .*portproof\.yml: app\.user: no user "no-such-user-pp"/,
    );
    expect(isAlive(oldPid)).toBe(true);
  });

  it('app.supervisor: systemd where PID 1 is not systemd: exit 2 naming the key, every hook, the old app untouched', async () => {
    const port = await findFreePort();
    const { stateDir, revision: v1 } = await deployed({ ports: [port], versionTag: 'v1' });
    expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
    const oldPid = remember(stateDir, port);
    const { revision: v2 } = await deployed({
      ports: [port],
      versionTag: 'v2',
      app: { supervisor: 'systemd' },
      stateDir,
    });
    for (const hook of ['stop', 'start', 'validate'] as const) {
      const run = await v2.run(hook);
      // ApplicationStop with a config it cannot use stops nothing and warns, exit 0 (issue 19).
      expect(run.code).toBe(hook === 'stop' ? 0 : 2);
      expect(run.lines).toHaveLength(1);
      expect(run.verdict).toMatch(
        /: app\.supervisor: needs systemd, but PID 1 here is .*; use app\.supervisor: direct/,
      );
    }
    expect(isAlive(oldPid)).toBe(true);
  });

  it('a missing working directory is named as app.cwd, not "program not found"', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], app: { cwd: '/nonexistent/portproof-app' } });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain('app.cwd: /nonexistent/portproof-app does not exist');
    expect(fs.existsSync(path.join(stateDir, 'fixture'))).toBe(false);
  });

  it('a program not found in PATH: exit 2 naming app.command, nothing touched', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      app: { command: ['no-such-program-pp', '--port={port}'] },
    });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toMatch(/app\.command: program "no-such-program-pp" not found in PATH \(/);
    expect(fs.existsSync(path.join(stateDir, 'fixture'))).toBe(false);
  });

  it('a program that is not executable: exit 2 naming app.command', async () => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port] });
    const script = path.join(revision.dir, 'app.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexec sleep 60\n', { mode: 0o644 });
    editConfig(revision, (c) => (c.app.command = ['./app.sh']));
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain(`app.command: program ${script} is not executable`);
  });

  it('app.log: /dev/stdout is refused before anything is touched, naming the key', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], app: { log: '/dev/stdout' } });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain('app.log: /dev/stdout is a symbolic link');
    expect(fs.existsSync(path.join(stateDir, 'fixture'))).toBe(false);
  });

  it.each([
    ['/dev/null', 'is a character device, not a regular file'],
    ['/tmp', 'is a directory, not a regular file'],
  ])('app.log: %s is refused', async (log, expected) => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port], app: { log } });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.verdict).toContain(`app.log: ${log} ${expected}`);
  });

  it('every problem at once, a line each, the verdict last; --check reports them and changes nothing', async () => {
    const port = await findFreePort();
    const app = { user: 'no-such-user-pp', cwd: '/nonexistent/portproof-app' };
    const { stateDir, revision } = await deployed({ ports: [port], app });
    const run = await revision.run('start');
    expect(run.code).toBe(2);
    expect(run.lines).toHaveLength(3);
    expect(run.lines[0]).toContain('app.user: no user "no-such-user-pp"');
    expect(run.lines[1]).toContain('app.cwd: /nonexistent/portproof-app does not exist');
    expect(run.verdict).toMatch(
      /FAILED: config .*: app\.user: no user "no-such-user-pp" .*\(and 1 more problem above\)$/,
    );
    const check = await revision.run('validate', { args: ['--check'] });
    // A status command: a config the hooks would refuse is exit 2, after the report.
    expect(check.code).toBe(2);
    expect(check.stdout).toContain('preflight: app.user: no user "no-such-user-pp"');
    expect(check.stdout).toContain('preflight: app.cwd: /nonexistent/portproof-app does not exist');
    expect(fs.existsSync(path.join(stateDir, 'fixture', 'state.json'))).toBe(false);
  });
});
