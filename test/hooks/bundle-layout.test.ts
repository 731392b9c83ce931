import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RepoRoot } from '../../build/paths.ts';
import type { HookEntry } from '../../src/core/events.ts';
import { openRevision, type Revision } from '../../src/lab/agent.ts';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { FixtureAppPath } from '../support/app.ts';
import {
  cleanUpHookTests,
  expectVerdict,
  isAlive,
  nginxSection,
  readState,
  remember,
  useBlueGreenBed,
} from '../support/hook-tests.ts';
import { hookArgv } from '../support/hooks.ts';

// The revision a user ships is the one `portproof bundle` writes: the app's files under app/, the config at the
// root, no app.cwd. Until issue 23 every test laid its revision out by hand at the root, and every bundled revision
// failed ApplicationStart (the release held app/'s contents; the app was started in <release>/app).

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bundled-'));
afterAll(async () => {
  await cleanUpHookTests();
  fs.rmSync(temp, { recursive: true, force: true });
});

/** A project as a user keeps it: the app (relative to its directory), portproof.yml and appspec.yml. */
function writeProject(name: string, config: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(temp, `${name}-`));
  fs.copyFileSync(FixtureAppPath, path.join(dir, 'server.mjs'));
  fs.mkdirSync(path.join(dir, 'conf'));
  fs.writeFileSync(path.join(dir, 'conf', 'greeting.txt'), `${name}\n`);
  fs.writeFileSync(path.join(dir, 'portproof.yml'), stringify(config));
  const hook = (location: string, timeout: number) => [{ location, timeout, runas: 'root' }];
  const appspec = {
    version: 0.0,
    os: 'linux',
    hooks: {
      ApplicationStop: hook('hooks/stop', 60),
      ApplicationStart: hook('hooks/start', 120),
      ValidateService: hook('hooks/validate', 120),
    },
  };
  fs.writeFileSync(path.join(dir, 'appspec.yml'), stringify(appspec));
  return dir;
}

/** `portproof bundle --out rev server.mjs conf` in the project, as the README says; the revision's hooks run it. */
function bundleRevision(project: string, deploymentId: string): Revision {
  const cli = [path.join(RepoRoot, 'bin/portproof.js'), 'bundle', '--out', 'rev', 'server.mjs', 'conf'];
  const run = spawnSync(process.execPath, cli, { cwd: project, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const dir = path.join(project, 'rev');
  expect(fs.readdirSync(path.join(dir, 'app')).sort()).toEqual(['conf', 'server.mjs']);
  // Compiled: the revision's own hooks, as the agent runs them; from source: the checkout's, on this revision.
  const argv = (name: HookEntry) =>
    process.env.PORTPROOF_TEST_FROM_SOURCE === '1' ? hookArgv(name) : [path.join(dir, 'hooks', name)];
  return openRevision(dir, {
    hookArgv: argv,
    deploymentId,
    applicationName: 'fixture',
    groupName: 'g',
    groupId: 'g-1',
  });
}

function appConfig(stateDir: string, nginx: TestNginx, tag: string, app: Record<string, unknown> = {}) {
  return {
    app: {
      name: 'fixture',
      // Relative: found only where the app runs from its own files.
      command: [process.execPath, 'server.mjs', '--port={port}', `--version-tag=${tag}`],
      supervisor: 'direct',
      ...app,
    },
    ports: [0, 0],
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '200ms', timeout: '20s', settle: '300ms' },
    start: { timeout: '20s' },
    nginx: nginxSection(nginx),
    stateDir,
  };
}

describe('a revision written by portproof bundle', () => {
  let bed: { nginx: TestNginx; blue: number; green: number; stateDir: string };
  useBlueGreenBed((b) => {
    bed = b;
  });

  const project = (tag: string, app: Record<string, unknown> = {}) => {
    const config = { ...appConfig(bed.stateDir, bed.nginx, tag, app), ports: [bed.blue, bed.green] };
    return writeProject(tag, config);
  };
  const cwdOf = (pid: number) => fs.readlinkSync(`/proc/${pid}/cwd`);
  const releasesRoot = () => path.join(bed.stateDir, 'fixture', 'releases');

  it('deploys: stop, start and validate OK, the app running in <release>/app; a repeated local-<pid> gets its own release', async () => {
    // Agent 2 names local deployments local-<pid>: two revisions under one ID, as when PIDs repeat.
    const v1 = bundleRevision(project('v1'), 'local-4242');
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK');
    const started = await v1.run('start');
    expectVerdict(started, 'ApplicationStart', 'OK', `listening on port ${bed.blue}`);
    const first = remember(bed.stateDir, bed.blue);
    expect(cwdOf(first)).toBe(path.join(releasesRoot(), 'local-4242', 'app'));
    expectVerdict(await v1.run('validate'), 'ValidateService', 'OK', `nginx now → ${bed.blue}`);
    // A retried ApplicationStart of the same revision reuses its release.
    const v2 = bundleRevision(project('v2'), 'local-4242');
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK');
    const second = await v2.run('start');
    expectVerdict(second, 'ApplicationStart', 'OK', `listening on port ${bed.green}`);
    expect(second.stdout).toContain(`Release ${path.join(releasesRoot(), 'local-4242-2')}:`);
    const pid = remember(bed.stateDir, bed.green);
    expect(cwdOf(pid)).toBe(path.join(releasesRoot(), 'local-4242-2', 'app'));
    // The agent deletes the revision: the app keeps its files in its release.
    fs.rmSync(v1.dir, { recursive: true, force: true });
    expectVerdict(await v2.run('validate'), 'ValidateService', 'OK', `nginx now → ${bed.green}`);
    const through = await fetch(`${bed.nginx.url}/`);
    expect(through.headers.get('x-version')).toBe('v2');
    expect(isAlive(first)).toBe(true);
    const retried = await v2.run('start');
    expect(retried.stdout).toContain(`Release ${path.join(releasesRoot(), 'local-4242-2')} already made`);
  });

  it('an app.cwd inside the revision runs at the same place in the release; a missing one is named before any stop, exit 2', async () => {
    const v1 = bundleRevision(project('v1'), 'd-CWD1');
    // app.cwd is absolute (the schema refuses a relative one): set here to where the agent unpacked the revision.
    const config = appConfig(bed.stateDir, bed.nginx, 'v1', {
      cwd: path.join(v1.dir, 'app', 'conf'),
      command: [process.execPath, '../server.mjs', '--port={port}', '--version-tag=v1'],
    });
    fs.writeFileSync(v1.configPath, stringify({ ...config, ports: [bed.blue, bed.green] }));
    expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(bed.stateDir, bed.blue);
    expect(cwdOf(pid)).toBe(path.join(releasesRoot(), 'd-CWD1', 'app', 'conf'));
    expectVerdict(await v1.run('validate'), 'ValidateService', 'OK');

    const v2 = bundleRevision(project('v2'), 'd-CWD2');
    const missing = path.join(v2.dir, 'app', 'nowhere');
    const broken = appConfig(bed.stateDir, bed.nginx, 'v2', { cwd: missing });
    fs.writeFileSync(v2.configPath, stringify({ ...broken, ports: [bed.blue, bed.green] }));
    const run = await v2.run('start');
    expect(run.verdict).toContain('portproof ApplicationStart FAILED:');
    expect(run.verdict).toContain(`app.cwd: ${missing} does not exist`);
    expect(run.code).toBe(2);
    expect(isAlive(pid)).toBe(true);
    expect(readState(bed.stateDir).processes[String(bed.blue)]?.pid).toBe(pid);
    expect(fs.existsSync(path.join(releasesRoot(), 'd-CWD2'))).toBe(false);
  });
});
