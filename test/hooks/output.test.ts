import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startNginx } from '../../src/lab/nginx.ts';
import { findFreePort, findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import type { HookRun } from '../../src/lab/agent.ts';
import { cleanUpHookTests, deployed, expectVerdict, remember } from '../support/hook-tests.ts';

afterEach(async () => stopAll());
afterAll(cleanUpHookTests);

const Password = 'S3cr3t-pw-7731';
const Token = 'tok-9f8e7d6c5b4a';
const Unclean = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffd]|[\ud800-\udfff]/u;

function hooksLog(stateDir: string): string {
  return fs.readFileSync(path.join(stateDir, 'fixture', 'hooks.log'), 'utf8');
}

function expectNoSecret(runs: HookRun[], stateDir: string): void {
  for (const text of [...runs.flatMap((r) => [r.stdout, r.stderr]), hooksLog(stateDir)]) {
    expect(text).not.toContain(Password);
    expect(text).not.toContain(Token);
  }
}

describe('what reaches the console and hooks.log', () => {
  it('a password in the health URL and app.env values are never printed or logged, passing or failing', async () => {
    const port = await findFreePort();
    const health = { url: `http://monitor:${Password}@127.0.0.1:{port}/actuator/health` };
    const app = { env: { SECRET_TOKEN: Token } };
    const { stateDir, revision: good } = await deployed({
      ports: [port],
      health,
      app,
      appFlags: ['--print-env=SECRET_TOKEN'],
    });
    const runs: HookRun[] = [];
    runs.push(await good.run('start'));
    expectVerdict(runs.at(-1)!, 'ApplicationStart', 'OK');
    remember(stateDir, port);
    // The app really got the secret: its own log has it (the hook shows that log only as evidence, redacted).
    expect(fs.readFileSync(path.join(stateDir, 'fixture', `app-${port}.log`), 'utf8')).toContain(
      `SECRET_TOKEN=${Token}`,
    );
    runs.push(await good.run('validate'));
    expectVerdict(runs.at(-1)!, 'ValidateService', 'OK');
    expect(runs.at(-1)!.stdout).toContain(`Checking health at http://monitor:***@127.0.0.1:${port}/actuator/health`);
    runs.push(
      await good.run('validate', { args: ['--check'] }),
      await good.run('validate', { args: ['--check', '--json'] }),
    );
    runs.push(await good.run('stop'));
    expectVerdict(runs.at(-1)!, 'ApplicationStop', 'OK');

    const { revision: sick } = await deployed({
      ports: [port],
      health: { ...health, timeout: '1s' },
      app,
      appFlags: ['--health=500'],
      stateDir,
    });
    runs.push(await sick.run('start'));
    remember(stateDir, port);
    runs.push(await sick.run('validate'));
    expectVerdict(
      runs.at(-1)!,
      'ValidateService',
      'FAILED',
      `http://monitor:***@127.0.0.1:${port}/actuator/health not healthy`,
    );
    runs.push(await sick.run('stop'));

    const { revision: crash } = await deployed({
      ports: [port],
      health,
      app,
      appFlags: ['--print-env=SECRET_TOKEN', '--crash-colored'],
      stateDir,
    });
    runs.push(await crash.run('start'));
    expectVerdict(runs.at(-1)!, 'ApplicationStart', 'FAILED', 'exited with code 1');
    expect(runs.at(-1)!.stdout).toContain('SECRET_TOKEN=***');
    expect(hooksLog(stateDir)).toContain('monitor:***@');
    expectNoSecret(runs, stateDir);
  });

  it('a password in nginx.url is hidden too (the safety net, for a line printed where the URL was not redacted)', async () => {
    const [listen, blue, green] = await findFreePorts(3);
    const nginx = await startNginx({ listenPort: listen!, livePort: green! });
    try {
      const block = {
        include: nginx.includePath,
        test: nginx.testCommand,
        reload: nginx.reloadCommand,
        pidFile: nginx.pidFile,
      };
      const url = nginx.url.replace('http://', `http://edge:${Password}@`);
      const nginxConfig = { ...block, url: `${url}/actuator/health`, reloadTimeout: '3s' };
      const { stateDir, revision } = await deployed({ ports: [blue!, green!], nginx: nginxConfig });
      const runs = [await revision.run('start')];
      remember(stateDir, blue!);
      runs.push(await revision.run('validate'));
      expectVerdict(runs[1]!, 'ValidateService', 'OK', `nginx now → ${blue}`);
      expect(runs[1]!.stdout).toContain('edge:***@127.0.0.1');
      expectNoSecret(runs, stateDir);
    } finally {
      await nginx.stop();
    }
  });

  it('a raw @ in a URL password and a multi-line app.env value: no part of either is printed or logged', async () => {
    const port = await findFreePort();
    const health = { url: 'http://monitor:Sup3r@Leaky@127.0.0.1:{port}/actuator/health', timeout: '1s' };
    const app = { env: { MULTI: 'hunter2-part-one\nhunter2-part-two' } };
    const shown = `http://monitor:***@127.0.0.1:${port}/actuator/health`;
    const { stateDir, revision: good } = await deployed({ ports: [port], health, app });
    const runs: HookRun[] = [await good.run('start')];
    expectVerdict(runs[0]!, 'ApplicationStart', 'OK');
    remember(stateDir, port);
    runs.push(await good.run('validate'));
    expectVerdict(runs[1]!, 'ValidateService', 'OK');
    expect(runs[1]!.stdout).toContain(`Checking health at ${shown}`);
    runs.push(await good.run('stop'));
    const { revision: sick } = await deployed({ ports: [port], health, app, appFlags: ['--health=500'], stateDir });
    runs.push(await sick.run('start'));
    remember(stateDir, port);
    runs.push(await sick.run('validate'));
    expectVerdict(runs.at(-1)!, 'ValidateService', 'FAILED', `${shown} not healthy`);
    runs.push(await sick.run('stop'));
    const flags = ['--print-env=MULTI', '--crash-colored'];
    const { revision: crash } = await deployed({ ports: [port], health, app, appFlags: flags, stateDir });
    runs.push(await crash.run('start'));
    expectVerdict(runs.at(-1)!, 'ApplicationStart', 'FAILED', 'exited with code 1');
    // The app really printed both lines of the value: the hook shows that log only redacted.
    const appLog = fs.readFileSync(path.join(stateDir, 'fixture', `app-${port}.log`), 'utf8');
    expect(appLog).toContain('hunter2-part-two');
    expect(runs.at(-1)!.stdout).toContain('MULTI=***');
    for (const text of [...runs.flatMap((r) => [r.stdout, r.stderr]), hooksLog(stateDir)]) {
      expect(text).not.toMatch(/Leaky|Sup3r|hunter2-part/);
    }
  });

  it('a coloured crash log with control bytes and emoji: every line clean, the verdict last and under 1 KB', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], appFlags: ['--crash-colored'] });
    const run = await revision.run('start');
    expectVerdict(
      run,
      'ApplicationStart',
      'FAILED',
      /exited with code 1 before listening on port \d+: "[0-9TZ:.-]+ ERROR : Application run failed: 🔥+…"$/u,
    );
    // The log tail is there as evidence, with its words and without its escapes.
    expect(run.stdout).toContain('INFO');
    expect(run.stdout).toContain('Starting with bell');
    expect(run.stdout).toContain('WARN evil tail 🔥🔥🔥');
    for (const line of run.lines) {
      expect(line).not.toMatch(Unclean);
      expect(line).not.toMatch(/\[[0-9;]*m|\]0;/);
    }
    expect(run.stdout.endsWith(`${run.verdict}\n`)).toBe(true);
    expect(Buffer.byteLength(run.verdict)).toBeLessThan(1024);
    expect(run.stderr).toBe('');
    // The raw bytes are still in the app's own log, untouched: only what portproof prints is cleaned.
    expect(fs.readFileSync(path.join(stateDir, 'fixture', `app-${port}.log`), 'utf8')).toContain('\x1b[31mERROR');
  });

  it('--json without --check is refused (it would silence a real run): exit 2, nothing touched', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    const run = await revision.run('start', { args: ['--json'] });
    expect(run.code).toBe(2);
    // Asked for JSON, it gets JSON even for a usage error: one document, nothing else.
    expect(run.lines).toHaveLength(1);
    const report = JSON.parse(run.lines[0]!);
    expect(report).toMatchObject({ status: 2, healthy: false, error: { code: 'BAD_USAGE' } });
    expect(report.error.message).toContain('--json goes with --check only');
    expect(fs.existsSync(path.join(stateDir, 'fixture'))).toBe(false);
  });
});
