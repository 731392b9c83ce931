import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findListeners, readProcessInfo } from '../../src/core/procfs/index.ts';
import { canConnect, pollUntil, waitForPort } from '../../src/lab/net.ts';
import { findFreePort, findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { FixtureAppPath, httpGet, startApp } from '../support/app.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, readState } from '../support/hook-tests.ts';

// Start commands as people have them (issue 9): a script that backgrounds the app, a daemon that leaves the session,
// a launcher that execs, and an app whose drain child keeps the listening socket after SIGTERM.

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const usedPorts: number[] = [];

/** SIGKILL whatever still listens on the ports these tests used: a backgrounded app leads no group to kill. */
function killPortHolders(): void {
  for (const port of usedPorts.splice(0)) {
    for (const owner of findListeners(port).listeners.flatMap((l) => l.owners)) {
      try {
        process.kill(owner.pid, 'SIGKILL');
      } catch {
        // Gone between the scan and the signal.
      }
    }
  }
}

async function testPort(): Promise<number> {
  const port = await findFreePort();
  usedPorts.push(port);
  return port;
}

afterEach(async () => {
  killPortHolders();
  await stopAll();
});
afterAll(cleanUpHookTests);

describe('start commands as people have them, with the compiled hooks', () => {
  it('a script that nohup-backgrounds the app and exits 0: the app is followed, recorded, proved', async () => {
    const port = await testPort();
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bg-')), 'nohup.out');
    const script = path.join(fixtures, 'background-start.sh');
    const command = ['/bin/sh', script, out, process.execPath, FixtureAppPath, '--port={port}'];
    const { stateDir, revision } = await deployed({ ports: [port], app: { command } });
    const start = await revision.run('start');
    const listening = new RegExp(`PID \\d+ \\(node, started [0-9:]+\\) listening on port ${port}`);
    expectVerdict(start, 'ApplicationStart', 'OK', listening, /started by PID \d+ \(sh\), which exited with code 0/);
    const record = readState(stateDir).processes[String(port)]!;
    const launcher = Number(/started by PID (\d+)/.exec(start.verdict)![1]);
    expect(record.pid).not.toBe(launcher);
    expect(start.verdict).toContain(`PID ${record.pid} (node`);
    expect(readProcessInfo(record.pid)).toMatchObject({ comm: 'node', startTime: record.startTime, sid: launcher });
    expect(fs.readFileSync(out, 'utf8')).toContain('Started on port');

    const validate = await revision.run('validate');
    expectVerdict(validate, 'ValidateService', 'OK', `port ${port} owned by PID ${record.pid} (node`);
    const stop = await revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', `stopped PID ${record.pid}`, 'with SIGTERM');
    expect(stop.stdout).toContain('and its process group');
    expect(isAlive(record.pid)).toBe(false);
    expect(await canConnect(port)).toBe(false);
  });

  it('a script that backgrounds the app, then sleeps past its bind: the app is recorded, not the script', async () => {
    const port = await testPort();
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bg-')), 'nohup.out');
    const script = path.join(fixtures, 'background-start.sh');
    const command = ['/bin/sh', script, out, process.execPath, FixtureAppPath, '--port={port}'];
    const { stateDir, revision } = await deployed({ ports: [port], app: { command, env: { LINGER_SECONDS: '2' } } });
    const start = await revision.run('start');
    expectVerdict(
      start,
      'ApplicationStart',
      'OK',
      /PID \d+ \(node, started [0-9:]+\) listening on port/,
      /started by PID \d+ \(sh\), which is still running/,
    );
    const launcher = Number(/started by PID (\d+)/.exec(start.verdict)![1]);
    const record = readState(stateDir).processes[String(port)]!;
    expect(record.pid).not.toBe(launcher);
    // The script exits after its sleep; what was recorded is still the app on the port.
    await pollUntil(() => !isAlive(launcher), 15_000, `the start script PID ${launcher} to exit`);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${record.pid} (node`);
  });

  it('a wrapper that forks the server and waits: the server is recorded; stop ends both via the group', async () => {
    const port = await testPort();
    const { stateDir, revision } = await deployed({ ports: [port], appFlags: ['--fork'] });
    const start = await revision.run('start');
    const server = Number((await httpGet(`http://127.0.0.1:${port}/`)).headers['x-pid']);
    const wrapper = Number(/started by PID (\d+) \(node\), which is still running/.exec(start.verdict)?.[1]);
    expectVerdict(start, 'ApplicationStart', 'OK', `PID ${server} (node`);
    expect(readState(stateDir).processes[String(port)]!.pid).toBe(server);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${server}`);
    expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${server}`);
    expect(isAlive(server)).toBe(false);
    await pollUntil(() => !isAlive(wrapper), 5000, `the wrapper PID ${wrapper} to exit`);
  });

  it('a backgrounded app that dies ("port in use"): start fails, naming the script and what it left', async () => {
    const [port, busy] = await findFreePorts(2);
    usedPorts.push(port!, busy!);
    const holder = startApp([`--port=${busy}`]);
    await waitForPort(busy!, 5000);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bg-')), 'nohup.out');
    const script = path.join(fixtures, 'background-start.sh');
    // Alive 2 s before it fails: time enough, on a loaded machine, for the hook to see it in the session first.
    const app = [process.execPath, FixtureAppPath, `--bind-other=${busy}`, '--start-delay=2000'];
    const command = ['/bin/sh', script, out, ...app];
    const { revision } = await deployed({ ports: [port!], app: { command } });
    const start = await revision.run('start');
    // Exited 0, then its app died: said at once, or at the deadline when a daemon-like process appeared meanwhile.
    expectVerdict(start, 'ApplicationStart', 'FAILED', /new PID \d+ \(sh\) exited with code 0/);
    expect(start.stdout).toMatch(/following what it left running in its session: PID \d+ \(\S*node /);
    expect(fs.readFileSync(out, 'utf8')).toContain(`Port ${busy} was already in use`);
    expect(await canConnect(port!)).toBe(false);
    expect(holder.exit()).toBeNull();
  });

  it('a daemon that leaves the session (double fork): refused with what to do, and not left running', async () => {
    const port = await testPort();
    const command = ['python3', path.join(fixtures, 'daemon.py'), process.execPath, FixtureAppPath, '--port={port}'];
    const { stateDir, revision } = await deployed({ ports: [port], app: { command } });
    const start = await revision.run('start');
    expectVerdict(
      start,
      'ApplicationStart',
      'FAILED',
      /left the start command's session/,
      /Run it in the foreground/,
      /app\.unit \(Type=forking with PIDFile=\)/,
      new RegExp(`PID \\d+ \\(\\S*node [^)]*\\) listening on port ${port}`),
    );
    expect(start.stdout).toMatch(/Stopping PID \d+ \(\S*node /);
    const daemon = Number(/PID (\d+) \(\S*node /.exec(start.verdict)![1]);
    expect(isAlive(daemon)).toBe(false);
    expect(await canConnect(port)).toBe(false);
    // Nothing that cannot be attributed is left recorded as the new process.
    expect(readState(stateDir).processes[String(port)]?.pid).not.toBe(daemon);
  });

  it('a launcher that execs the app: the verdict and the record name it as it runs once bound', async () => {
    const port = await testPort();
    const app = path.join(fixtures, 'reuseport-app.py');
    const command = ['/bin/sh', path.join(fixtures, 'exec-launcher.sh'), 'python3', app, '--port={port}'];
    const { stateDir, revision } = await deployed({ ports: [port], app: { command } });
    const start = await revision.run('start');
    expectVerdict(start, 'ApplicationStart', 'OK', /PID \d+ \(python3, started [0-9:]+\) listening on port/);
    expect(start.verdict).not.toContain('started by');
    const record = readState(stateDir).processes[String(port)]!;
    expect((record as typeof record & { command: string }).command).toMatch(/^\S*python3 \S*reuseport-app\.py/);
    expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `owned by PID ${record.pid} (python3`);
  });

  it('a drain child forked on SIGTERM keeps the socket: stop finds it, escalates to SIGKILL, names each', async () => {
    const port = await testPort();
    const command = ['python3', path.join(fixtures, 'drain-fork-app.py'), '--port={port}'];
    const { stateDir, revision } = await deployed({ ports: [port], app: { command }, stop: { grace: '1s' } });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const parent = readState(stateDir).processes[String(port)]!.pid;
    const stop = await revision.run('stop');
    const child = Number(new RegExp(`Sending SIGTERM to PID (\\d+) .*took over port ${port}`).exec(stop.stdout)?.[1]);
    expect(child, stop.stdout).toBeGreaterThan(0);
    expect(child).not.toBe(parent);
    expectVerdict(
      stop,
      'ApplicationStop',
      'OK',
      new RegExp(`PID ${parent} \\([^)]*python3[^)]*\\) with SIGTERM`),
      new RegExp(`PID ${child} \\([^)]*python3[^)]*\\) with SIGKILL after the grace period`),
    );
    expect(isAlive(parent)).toBe(false);
    expect(isAlive(child)).toBe(false);
    await pollUntil(async () => !(await canConnect(port)), 5000, `port ${port} to be free`);
  });
});
