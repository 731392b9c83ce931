import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startHammer } from '../../src/lab/hammer.ts';
import { pollUntil, waitForPort } from '../../src/lab/net.ts';
import { renderServiceUrl, type TestNginx } from '../../src/lab/nginx.ts';
import { httpGet, ReuseportAppPath, startApp, startReuseportApp } from '../support/app.ts';
import { findListeners } from '../../src/core/procfs/index.ts';
import { budgetFrom, timed } from '../support/budget.ts';
import { pacedDuration } from '../support/pace.ts';
import { expectWaitedAtLeast } from '../support/durations.ts';
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

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;

useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

function nginxBlock(extra: Record<string, unknown> = {}) {
  return nginxSection(nginx, extra);
}

async function deploy(
  versionTag: string,
  options: {
    appFlags?: string[];
    nginx?: Record<string, unknown>;
    previous?: Awaited<ReturnType<typeof deployed>>['revision'];
    app?: Record<string, unknown>;
  } = {},
) {
  const { revision } = await deployed({
    ports: [blue, green],
    versionTag,
    stateDir,
    appFlags: options.appFlags,
    nginx: nginxBlock(options.nginx),
    app: options.app,
  });
  const stop = await (options.previous ?? revision).run('stop');
  const start = await revision.run('start');
  const validate = start.code === 0 ? await revision.run('validate') : null;
  return { revision, stop, start, validate };
}

/**
 * What nginx -T prints now, as a command that prints it again later: the include check before a switch then passes
 * while the test breaks nginx.conf (or stands in for nginx -t) to see the switch itself fail.
 */
function savedDump(): string[] {
  const dumpFile = path.join(nginx.prefix, 'dump.txt');
  fs.writeFileSync(dumpFile, execFileSync(nginx.testCommand[0]!, [...nginx.testCommand.slice(1, -1), '-T']));
  return ['cat', dumpFile];
}

async function versionBehindNginx(): Promise<string> {
  return (await httpGet(`${nginx.url}/`)).body.trim();
}

describe('blue/green behind a real nginx, with the compiled hooks', () => {
  it('the 502 story: the old app serves 8 s after SIGTERM, and a client hammering nginx sees zero failures', async () => {
    const { value: first, ms: firstMs } = await timed(() => deploy('v1', { appFlags: ['--stop-delay=8000'] }));
    expectVerdict(first.validate!, 'ValidateService', 'OK', `nginx now → ${blue}`);
    // Two more deployments follow, each the first one's work plus the old app's 8 s drain: the hammer's own cap (a
    // guard for a test that dies mid-way) is budgeted from that, not a fixed time a loaded machine overruns.
    const deployMs = firstMs + 8000;
    const hammer = startHammer(`${nginx.url}/`, { maxDurationMs: budgetFrom(2 * deployMs) });
    const second = await deploy('v2', { appFlags: ['--stop-delay=8000'], previous: first.revision });
    expectVerdict(second.validate!, 'ValidateService', 'OK', switchedTo(green), `(previous ${blue} kept for rollback)`);
    const third = await deploy('v3', { previous: second.revision });
    expectVerdict(third.stop, 'ApplicationStop', 'OK', /port \d+ free after .*: stopped PID \d+/);
    // The old app served on for its 8 s drain and the stop waited for it (printed to a tenth).
    expectWaitedAtLeast(third.stop.verdict, 'free after', 7950);
    expectVerdict(third.validate!, 'ValidateService', 'OK', `nginx now → ${blue}`);
    remember(stateDir, blue);
    remember(stateDir, green);
    await hammer.waitUntil((c) => (c.byVersion.v3 ?? 0) > 20, budgetFrom(firstMs));
    const counts = await hammer.stop();
    expect(counts.hitMaxDuration).toBe(false);
    expect(counts.failures).toEqual({});
    expect(counts.failed).toBe(0);
    expect(Object.keys(counts.byVersion).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(await versionBehindNginx()).toContain('version=v3');
  }, 300_000);

  it('new process exits at start: start fails, nginx untouched', async () => {
    const first = await deploy('v1');
    const include = nginx.readInclude();
    const second = await deploy('v2', { appFlags: ['--exit-at-start=1'], previous: first.revision });
    remember(stateDir, blue);
    expectVerdict(second.start, 'ApplicationStart', 'FAILED', 'exited with code 1');
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('a stray copy on the target port (another address): validate names its PID, nginx untouched', async () => {
    const first = await deploy('v1');
    const { revision } = await deployed({ ports: [blue, green], versionTag: 'v2', stateDir, nginx: nginxBlock() });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    const stray = startApp([`--port=${green}`, '--host=::1', '--version-tag=stray']);
    await waitForPort(green, 5000, '::1');
    const include = nginx.readInclude();
    expectVerdict(
      await revision.run('validate'),
      'ValidateService',
      'FAILED',
      `port ${green} is held by PID ${stray.pid}`,
      /as well as by the new PID \d+/,
    );
    expect(nginx.readInclude()).toBe(include);
    expect(first.validate!.code).toBe(0);
  });

  it('an SO_REUSEPORT sibling answering on the port: validate fails naming the other PID', async () => {
    await deploy('v1');
    const app = { command: ['python3', ReuseportAppPath, '--port={port}', '--version-tag=v2'] };
    const { revision } = await deployed({ ports: [blue, green], stateDir, nginx: nginxBlock(), app });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    const sibling = startReuseportApp([`--port=${green}`, '--version-tag=old']);
    await pollUntil(() => findListeners(green).listeners.length === 2, 5000, 'the sibling to listen');
    const include = nginx.readInclude();
    const run = await revision.run('validate');
    expectVerdict(run, 'ValidateService', 'FAILED', `port ${green} is held by PID ${sibling.pid}`);
    expect(nginx.readInclude()).toBe(include);
  });

  it('health fails: nginx untouched and still serving the old version', async () => {
    const first = await deploy('v1');
    const include = nginx.readInclude();
    const { revision } = await deployed({
      ports: [blue, green],
      versionTag: 'v2',
      stateDir,
      nginx: nginxBlock(),
      appFlags: ['--health=500'],
      // Long enough for one answer on a loaded machine: the verdict quotes it.
      health: { timeout: await pacedDuration(1000, 4) },
    });
    await first.revision.run('stop');
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'FAILED', /HTTP 500/);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it("nginx -t fails: include restored, nginx's own message in the verdict", async () => {
    await deploy('v1');
    const include = nginx.readInclude();
    const conf = fs.readFileSync(nginx.confPath, 'utf8');
    const nginxConfig = nginxBlock({ dump: savedDump() });
    const { revision } = await deployed({ ports: [blue, green], versionTag: 'v2', stateDir, nginx: nginxConfig });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    fs.writeFileSync(nginx.confPath, `${conf}\nbogus_directive on;\n`);
    const run = await revision.run('validate');
    fs.writeFileSync(nginx.confPath, conf);
    expectVerdict(
      run,
      'ValidateService',
      'FAILED',
      /nginx .*-t rejected the new config: .*unknown directive "bogus_directive"/,
    );
    expect(nginx.readInclude()).toBe(include);
  });

  it('nginx not running: validate fails, include untouched', async () => {
    await deploy('v1');
    const include = nginx.readInclude();
    const { revision } = await deployed({
      ports: [blue, green],
      versionTag: 'v2',
      stateDir,
      nginx: nginxBlock({ pidFile: `${nginx.prefix}/missing.pid` }),
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    expectVerdict(
      await revision.run('validate'),
      'ValidateService',
      'FAILED',
      /nginx is not running \(no pid file .*missing\.pid\); include .* left unchanged/,
    );
    expect(nginx.readInclude()).toBe(include);
  });

  it('reload silently rejected (a bare SIGHUP, no config test, broken nginx.conf): detected by the workers, include restored', async () => {
    await deploy('v1');
    const include = nginx.readInclude();
    const conf = fs.readFileSync(nginx.confPath, 'utf8');
    const silentReload = ['kill', '-HUP', String(nginx.masterPid())];
    const { revision } = await deployed({
      ports: [blue, green],
      versionTag: 'v2',
      stateDir,
      nginx: nginxBlock({ test: ['true'], dump: savedDump(), reload: silentReload }),
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    fs.writeFileSync(nginx.confPath, `${conf}\nbogus_directive on;\n`);
    const run = await revision.run('validate');
    fs.writeFileSync(nginx.confPath, conf);
    expectVerdict(run, 'ValidateService', 'FAILED', /nginx reload did not take effect: no new worker processes after /);
    // It waited the whole 3 s reloadTimeout for new workers before it called the reload failed.
    expectWaitedAtLeast(run.verdict, 'no new worker processes after', 2950);
    expect(nginx.readInclude()).toBe(include);
    expect(await versionBehindNginx()).toContain('version=v1');
  });

  it('hook killed mid-switch: the include is the old or the new one, never partial', async () => {
    await deploy('v1');
    const { revision } = await deployed({
      ports: [blue, green],
      versionTag: 'v2',
      stateDir,
      nginx: nginxBlock({ test: ['sleep', '0.3'], dump: savedDump() }),
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, green);
    const [oldInclude, newInclude] = [renderServiceUrl(blue), renderServiceUrl(green)];
    const seen: string[] = [];
    // Kill at several moments: during verification (old include), and once the new include is in place (during nginx -t).
    for (const killWhen of ['early', 'after-write'] as const) {
      nginx.writeInclude(blue);
      let hookPid = 0;
      const run = revision.run('validate', { onSpawn: (pid) => (hookPid = pid) });
      const deadline = Date.now() + 10_000;
      while (
        Date.now() < deadline &&
        (hookPid === 0 || (killWhen === 'after-write' && nginx.readInclude() === oldInclude))
      )
        await sleep(2);
      process.kill(hookPid, 'SIGKILL');
      const killed = await run;
      expect(killed.code).toBeNull();
      const include = nginx.readInclude();
      expect([oldInclude, newInclude]).toContain(include);
      seen.push(include);
    }
    expect(seen).toEqual([oldInclude, newInclude]);
    // The killed hook left its lock behind; the next run takes it over and finishes the switch.
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `nginx now → ${green}`);
  });

  it('rollback with --port, and --check reporting both ports', async () => {
    const first = await deploy('v1');
    const second = await deploy('v2', { previous: first.revision });
    expectVerdict(second.validate!, 'ValidateService', 'OK', `nginx now → ${green}`);
    const bluePid = remember(stateDir, blue);
    const greenPid = remember(stateDir, green);
    const check = await second.revision.run('validate', { args: ['--check', '--json'] });
    expect(check.code).toBe(0);
    const report = JSON.parse(check.stdout);
    expect(report.live).toBe(green);
    expect(
      report.ports.map((p: { port: number; role: string; owners: { pid: number }[] }) => [
        p.port,
        p.role,
        p.owners[0]?.pid,
      ]),
    ).toEqual([
      [blue, 'target', bluePid],
      [green, 'live', greenPid],
    ]);
    const rollback = await second.revision.run('validate', { args: ['--port', String(blue)] });
    expectVerdict(rollback, 'ValidateService', 'OK', `port ${blue} owned by PID ${bluePid}`, `nginx now → ${blue}`);
    expect(await versionBehindNginx()).toContain('version=v1');
    expect(isAlive(greenPid)).toBe(true);
  });
});
