import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { canConnect, waitForPort } from '../../src/lab/net.ts';
import { findFreePort, findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { httpGet, ReuseportAppPath, startApp } from '../support/app.ts';
import { pacedDuration } from '../support/pace.ts';
import { expectWaitedAtLeast } from '../support/durations.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, readState, remember } from '../support/hook-tests.ts';

afterEach(async () => stopAll());
afterAll(cleanUpHookTests);

describe('in-place deployment with the compiled hooks', () => {
  it('stop frees, start binds, validate proves ownership; the hook pipes close while the app runs on', async () => {
    const port = await findFreePort();
    const { stateDir, revision: v1 } = await deployed({ ports: [port], versionTag: 'v1' });
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK', `port ${port} free (nothing was listening)`);
    const started = await v1.run('start');
    expectVerdict(
      started,
      'ApplicationStart',
      'OK',
      new RegExp(`PID \\d+ \\(node, started [0-9:]+\\) listening on port ${port}`),
    );
    const pid = remember(stateDir, port);
    // runHookProcess resolved on 'close': both pipes closed, and the app still runs with its output in its log.
    expect(isAlive(pid)).toBe(true);
    expect(fs.readlinkSync(`/proc/${pid}/fd/1`)).toBe(path.join(stateDir, 'fixture', `app-${port}.log`));
    expect(fs.readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
    expectVerdict(
      await v1.run('validate'),
      'ValidateService',
      'OK',
      `port ${port} owned by PID ${pid}`,
      /healthy \(HTTP 200/,
    );

    const before = fs.readFileSync(path.join(stateDir, 'fixture', 'state.json'), 'utf8');
    expectVerdict(await v1.run('validate'), 'ValidateService', 'OK', `PID ${pid}`);
    expect(fs.readFileSync(path.join(stateDir, 'fixture', 'state.json'), 'utf8')).toBe(before);

    const { revision: v2 } = await deployed({ ports: [port], versionTag: 'v2', stateDir });
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${pid}`, 'with SIGTERM');
    expect(isAlive(pid)).toBe(false);
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    expectVerdict(await v2.run('validate'), 'ValidateService', 'OK');
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toContain('version=v2');
    const log = fs
      .readFileSync(path.join(stateDir, 'fixture', 'hooks.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      log.every((entry) => typeof entry.deploymentId === 'string' && typeof entry.lifecycleEvent === 'string'),
    ).toBe(true);
    expect(log.filter((entry) => entry.verdict === 'OK').length).toBe(7);
  });

  it('proves health answers even from a server that closes each connection right after answering (HTTP/1.0)', async () => {
    const port = await findFreePort();
    const app = { command: ['python3', ReuseportAppPath, '--port={port}'] };
    const { stateDir, revision } = await deployed({ ports: [port], app });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `port ${port} owned by PID ${pid} (python3`);
  });

  it('old process ignores SIGTERM: SIGKILL after the grace period, reported', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: ['--ignore-term'],
      stop: { grace: '1s' },
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    const stop = await revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', `stopped PID ${pid}`, 'with SIGKILL after the grace period');
    expect(stop.stdout).toContain('Still running after 1.0 s grace: sending SIGKILL');
    expect(isAlive(pid)).toBe(false);
    expect(await canConnect(port)).toBe(false);
  });

  it('start that stops a process it had not started (a skipped ApplicationStop) says so in its verdict', async () => {
    const port = await findFreePort();
    const stranger = startApp([`--port=${port}`]);
    await waitForPort(port, 5000);
    const { revision } = await deployed({ ports: [port] });
    const run = await revision.run('start');
    expectVerdict(
      run,
      'ApplicationStart',
      'OK',
      new RegExp(`; stopped PID ${stranger.pid} \\(.*\\) on port ${port}, which portproof had not started$`),
    );
    expect(isAlive(stranger.pid)).toBe(false);
    // Its own app, recorded there, is not a stranger on the next start.
    const again = await revision.run('start');
    expectVerdict(again, 'ApplicationStart', 'OK');
    expect(again.verdict).not.toContain('had not started');
  });

  it('new process exits at start ("port in use"): exit code and log tail, within the console tail', async () => {
    const [port, busy] = await findFreePorts(2);
    const holder = startApp([`--port=${busy}`]);
    await waitForPort(busy!, 5000);
    const { revision } = await deployed({ ports: [port!], appFlags: [`--bind-other=${busy}`] });
    const run = await revision.run('start');
    expectVerdict(
      run,
      'ApplicationStart',
      'FAILED',
      /new PID \d+ \(node\) exited with code 1 before listening on port \d+: ".*already in use/,
    );
    const tail = run.stdout.slice(-2000);
    expect(tail).toContain('APPLICATION FAILED TO START');
    expect(tail).toContain(run.verdict);
    expect(run.stdout.split('\n').every((line) => line.length < 1024)).toBe(true);
    expect(holder.exit()).toBeNull();
  });

  it('a program that cannot start (bad jar) fails with its exit code', async () => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port], appFlags: ['--exit-at-start=3'] });
    expectVerdict(
      await revision.run('start'),
      'ApplicationStart',
      'FAILED',
      'exited with code 3',
      /Unable to access jarfile/,
    );
  });

  it('new process alive but never binds: start fails at its deadline and stops it', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: ['--never-bind'],
      start: { timeout: '1500ms' },
    });
    const run = await revision.run('start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', /did not listen on port \d+ within .*: it listens on no TCP port/);
    // At least the 1.5 s start timeout (printed to a tenth); how much longer depends on the machine's load.
    expectWaitedAtLeast(run.verdict, 'within', 1450);
    // Stopped, and its record dropped with it: nothing is left for ApplicationStop or ValidateService to trust.
    const pid = Number(/new PID (\d+) is running but did not listen/.exec(run.verdict)![1]);
    expect(isAlive(pid)).toBe(false);
    expect(readState(stateDir).processes[String(port)]).toBeUndefined();
  });

  it('reports the time to bind counted from the spawn: a 600 ms start delay shows', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port], appFlags: ['--start-delay=600'] });
    const run = await revision.run('start');
    remember(stateDir, port);
    expectVerdict(run, 'ApplicationStart', 'OK');
    // "after 742 ms", or "after 1.2 s" on a loaded machine: at least the delay, within the hook's own run.
    const bindMs = expectWaitedAtLeast(run.verdict, 'listening on port \\d+ after', 600);
    expect(bindMs).toBeLessThan(run.durationMs + 100);
  });

  it('new process binds another port: start names where it listens', async () => {
    const [port, other] = await findFreePorts(2);
    const { stateDir, revision } = await deployed({
      ports: [port!],
      appFlags: [`--bind-other=${other}`],
      start: { timeout: '1500ms' },
    });
    const run = await revision.run('start');
    expectVerdict(run, 'ApplicationStart', 'FAILED', `it listens on 127.0.0.1:${other} instead`);
    const pid = Number(/new PID (\d+) is running but did not listen/.exec(run.verdict)![1]);
    expect(isAlive(pid)).toBe(false);
    expect(readState(stateDir).processes[String(port!)]).toBeUndefined();
  });

  it.each([
    ['500', /last: HTTP 500/],
    ['hang', /last: no answer within/],
    ['wrong-body', /lacks "\\"status\\":\\"UP\\""/],
  ])('health %s: validate fails with the last answer', async (mode, expected) => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({
      ports: [port],
      appFlags: [`--health=${mode}`],
      // A hang ends each request at requestTimeout; the others need one answer, on a loaded machine too.
      health: {
        timeout: await pacedDuration(1500, 6),
        requestTimeout: await pacedDuration(500, 2),
        expectBody: '"status":"UP"',
      },
    });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const run = await revision.run('validate');
    expectVerdict(run, 'ValidateService', 'FAILED', expected);
    // It kept trying for the whole 1.5 s health timeout (printed to a tenth), however slow the machine.
    expectWaitedAtLeast(run.verdict, 'not healthy after', 1450);
  });
});
