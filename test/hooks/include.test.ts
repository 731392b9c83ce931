import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { httpGet } from '../support/app.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  remember,
  useBlueGreenBed,
  switchedTo,
} from '../support/hook-tests.ts';

// The include as people write it: comments, quotes, other directives, symlinks, a mode and owner of its own.

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;

useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

function nginxBlock() {
  return nginxSection(nginx);
}

function revisionFor(versionTag: string) {
  return deployed({ ports: [blue, green], versionTag, stateDir, nginx: nginxBlock() }).then((d) => d.revision);
}

/** A whole deployment: stop from the previous revision (as CodeDeploy does), start and validate from the new one. */
async function deploy(versionTag: string, previous?: Awaited<ReturnType<typeof revisionFor>>) {
  const revision = await revisionFor(versionTag);
  const stop = await (previous ?? revision).run('stop');
  const start = stop.code === 0 ? await revision.run('start') : null;
  const validate = start?.code === 0 ? await revision.run('validate') : null;
  return { revision, stop, start, validate };
}

async function versionBehindNginx(): Promise<string> {
  return (await httpGet(`${nginx.url}/`)).body.trim();
}

/** v1 live on blue, as a first deployment leaves it; returns its revision and PID. */
async function v1Live() {
  const first = await deploy('v1');
  expectVerdict(first.validate!, 'ValidateService', 'OK', `nginx now → ${blue}`);
  return { revision: first.revision, pid: remember(stateDir, blue) };
}

describe('the nginx include as people write it, with the compiled hooks', () => {
  it('a commented-out old line above the active one: the live app is not stopped, the comment stays', async () => {
    const v1 = await v1Live();
    const include = `# set $service_url http://127.0.0.1:${green};\nset $service_url http://127.0.0.1:${blue};\n`;
    fs.writeFileSync(nginx.includePath, include);
    const second = await deploy('v2', v1.revision);
    expectVerdict(second.stop, 'ApplicationStop', 'OK', `port ${green} free (nothing was listening)`);
    expect(isAlive(v1.pid)).toBe(true);
    expectVerdict(second.start!, 'ApplicationStart', 'OK', `listening on port ${green}`);
    remember(stateDir, green);
    expectVerdict(second.validate!, 'ValidateService', 'OK', switchedTo(green), `(previous ${blue} kept for rollback)`);
    expect(nginx.readInclude()).toBe(
      `# set $service_url http://127.0.0.1:${green};\nset $service_url http://127.0.0.1:${green};\n`,
    );
    expect(await versionBehindNginx()).toContain('version=v2');
    expect(isAlive(v1.pid)).toBe(true);
  });

  it('a quoted spelling nginx accepts: read right, the live app is not stopped, the quotes stay', async () => {
    const v1 = await v1Live();
    fs.writeFileSync(nginx.includePath, `set $service_url "http://127.0.0.1:${blue}";\n`);
    const second = await deploy('v2', v1.revision);
    expectVerdict(second.stop, 'ApplicationStop', 'OK', `port ${green} free (nothing was listening)`);
    expect(isAlive(v1.pid)).toBe(true);
    remember(stateDir, green);
    expectVerdict(second.validate!, 'ValidateService', 'OK', `nginx now → ${green}`);
    expect(nginx.readInclude()).toBe(`set $service_url "http://127.0.0.1:${green}";\n`);
    expect(isAlive(v1.pid)).toBe(true);
  });

  it('two active lines naming different ports: stop and start refuse, quote the lines, signal nothing', async () => {
    const v1 = await v1Live();
    const second = await deploy('v2', v1.revision);
    expectVerdict(second.validate!, 'ValidateService', 'OK', `nginx now → ${green}`);
    const v2Pid = remember(stateDir, green);
    const include = `set $service_url http://127.0.0.1:${blue};\nset $service_url http://127.0.0.1:${green};\n`;
    fs.writeFileSync(nginx.includePath, include);
    const v3 = await revisionFor('v3');
    const refusal = [
      `cannot tell which port nginx serves from ${nginx.includePath}`,
      `active directives name different ports (${blue}, ${green})`,
      `"set $service_url http://127.0.0.1:${blue};"`,
      'nothing was signalled',
    ];
    expectVerdict(await second.revision.run('stop'), 'ApplicationStop', 'FAILED', ...refusal);
    expectVerdict(await v3.run('start'), 'ApplicationStart', 'FAILED', ...refusal);
    expect([isAlive(v1.pid), isAlive(v2Pid)]).toEqual([true, true]);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v2');
  });

  it('an include naming a port that is not configured: refused, nothing signalled', async () => {
    const v1 = await v1Live();
    fs.writeFileSync(nginx.includePath, 'set $service_url http://127.0.0.1:9;\n');
    const run = await v1.revision.run('stop');
    expectVerdict(
      run,
      'ApplicationStop',
      'FAILED',
      `it names port 9, which is not one of the configured ports (${blue}, ${green})`,
      '"set $service_url http://127.0.0.1:9;"',
    );
    expect(isAlive(v1.pid)).toBe(true);
  });

  it('the include and the last recorded switch disagree (edited, not reloaded): refused until validate --port settles it', async () => {
    const v1 = await v1Live();
    const second = await deploy('v2', v1.revision);
    expectVerdict(second.validate!, 'ValidateService', 'OK', `nginx now → ${green}`);
    const v2Pid = remember(stateDir, green);
    // Someone points the include back at blue by hand without reloading: nginx still serves green (v2).
    nginx.writeInclude(blue);
    const stop = await second.revision.run('stop');
    expectVerdict(
      stop,
      'ApplicationStop',
      'FAILED',
      `nginx include ${nginx.includePath} names port ${blue} but ${stateDir}/fixture/state.json records the last switch to port ${green}`,
      `run "hooks/validate --port ${blue}" (or --port ${green})`,
      'nothing was signalled',
    );
    expectVerdict(await second.revision.run('start'), 'ApplicationStart', 'FAILED', 'which app is live is not certain');
    expect([isAlive(v1.pid), isAlive(v2Pid)]).toEqual([true, true]);
    expect(await versionBehindNginx()).toContain('version=v2');
    expectVerdict(
      await second.revision.run('validate', { args: ['--port', String(green)] }),
      'ValidateService',
      'OK',
      `nginx now → ${green}`,
    );
    expectVerdict(await second.revision.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${v1.pid}`);
    expect(isAlive(v2Pid)).toBe(true);
  });

  it('an include with other directives and comments: the switch changes only the active line', async () => {
    const text = (port: number) =>
      `# managed by hand and by portproof\nset $deploy_note "blue; green";  # a quoted ;\n\nset   $service_url\n      http://127.0.0.1:${port};   # live\nset $after 1;\n`;
    fs.writeFileSync(nginx.includePath, text(green));
    await nginx.reload();
    const first = await deploy('v1');
    expectVerdict(first.validate!, 'ValidateService', 'OK', `nginx now → ${blue}`);
    remember(stateDir, blue);
    expect(nginx.readInclude()).toBe(text(blue));
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('a symlinked include with mode 0640 and a non-root owner: the link stays, its target changes in place', async () => {
    const releases = path.join(nginx.prefix, 'shared');
    fs.mkdirSync(releases);
    const target = path.join(releases, 'service-url.inc');
    fs.writeFileSync(target, `set $service_url http://127.0.0.1:${green};\n`);
    fs.chmodSync(target, 0o640);
    fs.chownSync(target, 65534, 65534);
    fs.rmSync(nginx.includePath);
    fs.symlinkSync('../shared/service-url.inc', nginx.includePath);
    const first = await deploy('v1');
    expectVerdict(first.validate!, 'ValidateService', 'OK', `nginx now → ${blue}`);
    remember(stateDir, blue);
    expect(fs.lstatSync(nginx.includePath).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(nginx.includePath)).toBe('../shared/service-url.inc');
    expect(fs.readFileSync(target, 'utf8')).toBe(`set $service_url http://127.0.0.1:${blue};\n`);
    const stat = fs.statSync(target);
    expect([stat.mode & 0o7777, stat.uid, stat.gid]).toEqual([0o640, 65534, 65534]);
    expect(fs.readdirSync(releases)).toEqual(['service-url.inc']);
    expect(fs.readdirSync(path.dirname(nginx.includePath)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('a symlinked include through a link or directory another user owns: refused (INCLUDE_UNSAFE), nothing quoted', async () => {
    const v1 = await v1Live();
    // nobody's home holds the include the root-owned link points at; nobody swaps it for a link to a secret file.
    const home = path.join(nginx.prefix, 'uhome');
    fs.mkdirSync(home);
    fs.chownSync(home, 65534, 65534);
    const secret = path.join(nginx.prefix, 'shadow');
    fs.writeFileSync(secret, 'root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n', { mode: 0o600 });
    const planted = path.join(home, 'service-url.inc');
    fs.symlinkSync(secret, planted);
    fs.lchownSync(planted, 65534, 65534);
    fs.rmSync(nginx.includePath);
    fs.symlinkSync(planted, nginx.includePath);
    const stop = await v1.revision.run('stop');
    expectVerdict(
      stop,
      'ApplicationStop',
      'FAILED',
      `nginx include ${nginx.includePath} is a symlink that others could redirect`,
      `the link ${planted} is owned by uid 65534, not root`,
    );
    expect(isAlive(v1.pid)).toBe(true);
    const log = fs.readFileSync(path.join(stateDir, 'fixture', 'hooks.log'), 'utf8');
    expect(log).toContain('INCLUDE_UNSAFE');
    for (const text of [stop.stdout, stop.stderr, log]) expect(text).not.toContain('root:*');

    // The link is root's now, but the directory it sits in is still nobody's: it could be swapped back.
    fs.rmSync(planted);
    fs.writeFileSync(planted, `set $service_url http://127.0.0.1:${blue};\n`);
    const again = await v1.revision.run('stop');
    expectVerdict(
      again,
      'ApplicationStop',
      'FAILED',
      `the directory ${home} of ${planted} is owned by nobody (uid 65534), not root (mode 0`,
    );
    // A root directory others may write to is refused for the switch too: the include is left as it was.
    fs.chownSync(home, 0, 0);
    fs.chmodSync(home, 0o777);
    const validate = await v1.revision.run('validate', { args: ['--port', String(blue)] });
    expectVerdict(
      validate,
      'ValidateService',
      'FAILED',
      `the directory ${home} of ${planted} is writable by group and others (owner root, mode 0777)`,
    );
    expect(fs.readFileSync(planted, 'utf8')).toBe(`set $service_url http://127.0.0.1:${blue};\n`);
    expect(isAlive(v1.pid)).toBe(true);
  });
});
