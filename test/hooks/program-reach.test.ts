import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RepoRoot } from '../../build/paths.ts';
import { findProgram } from '../../src/core/config/find-program.ts';
import { loadConfig } from '../../src/core/config/load.ts';
import type { HookEntry } from '../../src/core/events.ts';
import { launchApp } from '../../src/core/process/launch.ts';
import { openRevision, type Revision } from '../../src/lab/agent.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { FixtureAppPath } from '../support/app.ts';
import { cleanUpHookTests, expectVerdict, isAlive, newStateDir, readState, remember } from '../support/hook-tests.ts';
import { hookArgv } from '../support/hooks.ts';

// `python3` on a root shell's PATH is pyenv's shim, /root/.pyenv/shims/python3: a `#!/usr/bin/env bash` script in a
// directory (/root, mode 700) app.user cannot search. setpriv keeps root's capabilities until its exec, so its own
// PATH search ran the shim, and bash, as the user, could not open it (exit 126); a spawn refused for a missing `#!`
// interpreter read "program not found" for a program that exists. The shim here is a scratch script in a scratch
// root-only directory, put on the hook's PATH: nothing depends on this machine's pyenv.

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-reach-'));
// Searchable by everyone, as /tmp is: only the directories made root-only below are out of app.user's reach.
fs.chmodSync(temp, 0o755);
afterAll(async () => {
  await cleanUpHookTests();
  fs.rmSync(temp, { recursive: true, force: true });
});

/** A directory holding one executable script `name` with this text; `rootOnly` puts it under a mode-700 home. */
function scriptDir(label: string, name: string, text: string, rootOnly = false): string {
  const home = fs.mkdtempSync(path.join(temp, `${label}-`));
  const dir = path.join(home, '.pyenv', 'shims');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  fs.chmodSync(home, rootOnly ? 0o700 : 0o755);
  return dir;
}

/** A launcher that runs the fixture app with node, as python3 would run a Python app. */
const workingScript = `#!/bin/sh\nexec "${process.execPath}" "$@"\n`;

/** A project as a user keeps it, `portproof bundle`d into rev/ (the app's files under app/), its hooks ready to run. */
function bundledRevision(name: string, config: Record<string, unknown>): Revision {
  const project = fs.mkdtempSync(path.join(temp, `${name}-`));
  fs.chmodSync(project, 0o755);
  fs.copyFileSync(FixtureAppPath, path.join(project, 'server.mjs'));
  fs.writeFileSync(path.join(project, 'portproof.yml'), stringify(config));
  const hook = (location: string, timeout: number) => [{ location, timeout, runas: 'root' }];
  const hooks = {
    ApplicationStop: hook('hooks/stop', 60),
    ApplicationStart: hook('hooks/start', 120),
    ValidateService: hook('hooks/validate', 120),
  };
  fs.writeFileSync(path.join(project, 'appspec.yml'), stringify({ version: 0.0, os: 'linux', hooks }));
  const cli = [path.join(RepoRoot, 'bin/portproof.js'), 'bundle', '--out', 'rev', 'server.mjs'];
  const run = spawnSync(process.execPath, cli, { cwd: project, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const dir = path.join(project, 'rev');
  // Compiled: the revision's own hooks, as the agent runs them; from source: the checkout's, on this revision.
  const argv = (entry: HookEntry) =>
    process.env.PORTPROOF_TEST_FROM_SOURCE === '1' ? hookArgv(entry) : [path.join(dir, 'hooks', entry)];
  const deploymentId = `d-${name.toUpperCase()}`;
  return openRevision(dir, { hookArgv: argv, deploymentId, applicationName: 'fixture', groupName: 'g', groupId: 'g' });
}

/** An in-place config: one port, so a start stops what runs there first (unless preflight refuses). */
function appConfig(port: number, stateDir: string, command: string[], app: Record<string, unknown> = {}) {
  return {
    app: { name: 'fixture', command, supervisor: 'direct', ...app },
    ports: [port],
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '200ms', timeout: '20s', settle: '300ms' },
    start: { timeout: '20s' },
    stateDir,
  };
}

/** The hook's PATH: these directories first, then the system's. */
const pathWith = (...dirs: string[]) => ({ PATH: [...dirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':') });

/** v1 running on `port` from node itself, as deployed: what a refused start must leave running. */
async function deployRunning(port: number, stateDir: string): Promise<number> {
  const v1 = bundledRevision('v1', appConfig(port, stateDir, [process.execPath, 'server.mjs', '--port={port}']));
  expectVerdict(await v1.run('start'), 'ApplicationStart', 'OK');
  return remember(stateDir, port);
}

/** The start of `revision` was refused by preflight: exit 2, `reason` named, v1 and its record untouched. */
async function expectRefused(revision: Revision, env: NodeJS.ProcessEnv, v1: number, stateDir: string, port: number) {
  const before = readState(stateDir).processes[String(port)];
  const run = await revision.run('start', { env });
  expect(run.code).toBe(2);
  expect(run.verdict).toMatch(/^portproof ApplicationStart FAILED: config .*portproof\.yml: app\.command: /);
  expect(run.verdict).not.toContain('program not found');
  expect(isAlive(v1)).toBe(true);
  expect(readState(stateDir).processes[String(port)]).toEqual(before);
  expect(run.stdout).not.toContain('Freeing port');
  return run.verdict;
}

describe('app.command found on PATH as the app will run it (bundled revisions)', () => {
  it('a shim in a directory app.user cannot search, and nothing else on PATH: refused before any stop, exit 2', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const v1 = await deployRunning(port, stateDir);
    const shims = scriptDir('root-home', 'pp-python', '#!/usr/bin/env bash\nexec node "$@"\n', true);
    const config = appConfig(port, stateDir, ['pp-python', 'server.mjs', '--port={port}'], { user: 'nobody' });
    const v2 = bundledRevision('shim', config);
    const verdict = await expectRefused(v2, pathWith(shims), v1, stateDir, port);
    const home = path.dirname(path.dirname(shims));
    expect(verdict).toContain(
      `program ${shims}/pp-python cannot be reached by user nobody: no search (x) permission on ${home}`,
    );
  });

  it('a shim app.user cannot reach is passed over, as its own exec would: the next one on PATH runs, as nobody', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const shims = scriptDir('root-home', 'pp-python', '#!/usr/bin/env bash\nexec node "$@"\n', true);
    const system = scriptDir('usr', 'pp-python', workingScript);
    const config = appConfig(port, stateDir, ['pp-python', 'server.mjs', '--port={port}'], { user: 'nobody' });
    const run = await bundledRevision('passover', config).run('start', { env: pathWith(shims, system) });
    expectVerdict(run, 'ApplicationStart', 'OK', `listening on port ${port}`);
    const pid = remember(stateDir, port);
    expect(fs.statSync(`/proc/${pid}`).uid).toBe(65534);
  });

  it('a script whose #! interpreter does not exist: named as such before any stop, exit 2; one further on runs', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const v1 = await deployRunning(port, stateDir);
    const broken = scriptDir('broken', 'pp-app', '#!/nonexistent/interpreter\n');
    const command = ['pp-app', 'server.mjs', '--port={port}'];
    const verdict = await expectRefused(
      bundledRevision('nointerp', appConfig(port, stateDir, command)),
      pathWith(broken),
      v1,
      stateDir,
      port,
    );
    expect(verdict).toContain(`program ${broken}/pp-app starts with #!/nonexistent/interpreter, which does not exist`);
    // execvp passes over a file whose interpreter is missing (ENOENT) and runs the next: so does preflight.
    const good = scriptDir('good', 'pp-app', workingScript);
    const v3 = bundledRevision('next', appConfig(port, stateDir, command));
    expectVerdict(await v3.run('start', { env: pathWith(broken, good) }), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    expect(isAlive(v1)).toBe(false);
  });

  it('a #!/usr/bin/env script whose program is not on the app PATH: refused before any stop, exit 2', async () => {
    const port = await findFreePort();
    const stateDir = newStateDir();
    const v1 = await deployRunning(port, stateDir);
    const dir = scriptDir('env', 'pp-app', '#!/usr/bin/env pp-no-such-interpreter\n');
    const command = ['pp-app', 'server.mjs', '--port={port}'];
    const env = pathWith(dir);
    const verdict = await expectRefused(
      bundledRevision('envlookup', appConfig(port, stateDir, command)),
      env,
      v1,
      stateDir,
      port,
    );
    expect(verdict).toContain(
      `program ${dir}/pp-app starts with #!/usr/bin/env pp-no-such-interpreter: program "pp-no-such-interpreter" not found in PATH (${env.PATH})`,
    );
  });
});

describe('a spawn the kernel refuses is named by its cause, never "program not found" for a file that exists', () => {
  // Preflight finds these first; a file changed between preflight and the spawn reaches launchApp, called here.
  const launch = async (command: string[], cwd: string) => {
    const file = path.join(temp, `launch-${path.basename(cwd)}-${Math.random()}.yml`);
    const port = await findFreePort();
    fs.writeFileSync(file, stringify({ ...appConfig(port, newStateDir(), command), app: { name: 'f', command, cwd } }));
    return launchApp(loadConfig(file, temp), port);
  };

  it('a missing #! interpreter', async () => {
    const dir = scriptDir('spawn', 'pp-app', '#!/nonexistent/interpreter\n');
    const script = path.join(dir, 'pp-app');
    await expect(launch([script], temp)).rejects.toThrow(
      `could not start ${script}: program ${script} starts with #!/nonexistent/interpreter, which does not exist ` +
        '(exec said ENOENT)',
    );
  });

  it('a binary whose dynamic loader is missing (its PT_INTERP renamed in a copy of /bin/true)', async () => {
    const bytes = fs.readFileSync('/bin/true');
    const loader = bytes.indexOf('/ld-linux');
    expect(loader).toBeGreaterThan(0);
    bytes.write('/ld-nonexi', loader, 'latin1');
    const binary = path.join(temp, 'pp-true');
    fs.writeFileSync(binary, bytes, { mode: 0o755 });
    await expect(launch([binary], temp)).rejects.toThrow(
      `could not start ${binary}: ${binary} exists, but exec said no such file or directory (ENOENT): the dynamic ` +
        'loader it names is missing',
    );
  });

  it('a missing working directory', async () => {
    const gone = path.join(temp, 'gone');
    await expect(launch([process.execPath], gone)).rejects.toThrow(`its working directory ${gone} does not exist`);
  });
});

describe('the #! line as the kernel reads it', () => {
  it('a Windows line ending: the \\r is part of the interpreter, which does not exist (shown quoted)', () => {
    const dir = scriptDir('crlf', 'pp-app', '#!/bin/sh\r\necho hi\r\n');
    expect(findProgram('pp-app', temp, dir, null)).toEqual({
      problem: `program ${dir}/pp-app starts with #!"/bin/sh\\r", which does not exist`,
    });
  });

  it('a script that runs itself through env: a bounded chain, not a hang', () => {
    const dir = scriptDir('loop', 'pp-loop', '#!/usr/bin/env pp-loop\n');
    expect(findProgram('pp-loop', temp, `${dir}:/usr/bin`, null)).toMatchObject({
      problem: expect.stringContaining('#! interpreters in a chain (ELOOP)'),
    });
  });
});
