import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startHammer } from '../../src/lab/hammer.ts';
import { canConnect, pollUntil, waitForPort, waitForPortFree } from '../../src/lab/net.ts';
import { findNginxBin, isRunning, NginxMissing, startNginx, type TestNginx } from '../../src/lab/nginx.ts';
import { findFreePort, findFreePorts } from '../../src/lab/ports.ts';
import { type AppProcess, stopAll, waitForExit } from '../../src/lab/processes.ts';
import { httpGet, startApp, startReuseportApp } from './app.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import { runCommand } from '../../src/core/run-command.ts';

const BootMs = 5000;

afterAll(stopAll);

async function startListening(args: string[], port: number): Promise<AppProcess> {
  const app = startApp([`--port=${port}`, ...args]);
  await waitForPort(port, BootMs).catch((error: Error) => {
    throw new Error(`${error.message}\n${app.output()}`);
  });
  return app;
}

function readParentPid(pid: number): number {
  return readProcessInfo(pid)!.ppid;
}

describe('ports', () => {
  it('hands out distinct ports nothing listens on', async () => {
    const ports = await findFreePorts(3);
    expect(new Set(ports).size).toBe(3);
    for (const port of [...ports, await findFreePort()]) expect(await canConnect(port)).toBe(false);
  });
});

describe('fixture app', () => {
  it('answers health and / with its PID and version, on --port, PORT and ::', async () => {
    const [a, b, c] = await findFreePorts(3);
    const app = await startListening(['--version-tag=v7'], a!);
    const health = await httpGet(`http://127.0.0.1:${a}/actuator/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'UP', pid: app.pid, version: 'v7' });
    expect((await httpGet(`http://127.0.0.1:${a}/`)).body).toBe(`version=v7 pid=${app.pid}\n`);
    expect(app.stdout()).toContain(`Started on port ${a}`);

    startApp([], { ...process.env, PORT: String(b) });
    await waitForPort(b!, BootMs);
    startApp([`--port=${c}`, '--host=::']);
    await waitForPort(c!, BootMs, '::1');
    expect((await httpGet(`http://[::1]:${c}/actuator/health`)).status).toBe(200);
  });

  it('exits 1 saying the port was already in use, as Spring Boot does', async () => {
    const port = await findFreePort();
    await startListening([], port);
    const second = startApp([`--port=${port}`]);
    expect(await waitForExit(second, BootMs)).toEqual({ code: 1, signal: null });
    expect(second.stderr()).toContain(`Port ${port} was already in use`);
  });

  it('keeps serving for --stop-delay after SIGTERM, then frees the port and exits 0', async () => {
    const port = await findFreePort();
    const app = await startListening(['--stop-delay=800'], port);
    const signalledAt = Date.now();
    process.kill(app.pid, 'SIGTERM');
    while (Date.now() - signalledAt < 500)
      expect((await httpGet(`http://127.0.0.1:${port}/actuator/health`)).status).toBe(200);
    await waitForPortFree(port, 3000);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(750);
    expect(await waitForExit(app, 3000)).toEqual({ code: 0, signal: null });
    expect(app.stdout()).toContain('Shutdown complete');
  });

  it('survives SIGTERM with --ignore-term', async () => {
    const port = await findFreePort();
    const app = await startListening(['--ignore-term'], port);
    process.kill(app.pid, 'SIGTERM');
    await pollUntil(() => app.stdout().includes('ignoring'), 2000, 'the app to log the ignored SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(app.exit()).toBeNull();
    expect((await httpGet(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });

  it('exits with --exit-at-start before binding', async () => {
    const port = await findFreePort();
    const app = startApp([`--port=${port}`, '--exit-at-start=3']);
    expect(await waitForExit(app, BootMs)).toEqual({ code: 3, signal: null });
    expect(app.stderr()).toContain('Error: Unable to access jarfile');
    expect(await canConnect(port)).toBe(false);
  });

  it('stays alive listening nowhere with --never-bind', async () => {
    const port = await findFreePort();
    const app = startApp([`--port=${port}`, '--never-bind']);
    await pollUntil(() => app.stdout().includes('listening nowhere'), BootMs, 'the never-bind start line');
    expect(app.exit()).toBeNull();
    expect(await canConnect(port)).toBe(false);
  });

  it('listens on the other port with --bind-other', async () => {
    const [port, other] = await findFreePorts(2);
    startApp([`--port=${port}`, `--bind-other=${other}`]);
    await waitForPort(other!, BootMs);
    expect(await canConnect(port!)).toBe(false);
  });

  it('binds only after --start-delay plus --bind-delay', async () => {
    const port = await findFreePort();
    const startedAt = Date.now();
    const app = startApp([`--port=${port}`, '--start-delay=300', '--bind-delay=300']);
    await pollUntil(() => app.stdout().includes('Delaying the web server'), BootMs, 'the bind-delay line');
    expect(await canConnect(port)).toBe(false);
    await waitForPort(port, BootMs);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(600);
  });

  it('serves from a forked child with --fork, which the parent stops on SIGTERM', async () => {
    const port = await findFreePort();
    const app = await startListening(['--fork', '--version-tag=forked'], port);
    const { pid } = JSON.parse((await httpGet(`http://127.0.0.1:${port}/actuator/health`)).body) as { pid: number };
    expect(pid).not.toBe(app.pid);
    expect(readParentPid(pid)).toBe(app.pid);
    process.kill(app.pid, 'SIGTERM');
    expect(await waitForExit(app, 3000)).toEqual({ code: 0, signal: null });
    await waitForPortFree(port, 1000);

    // Signalled as a process group, the child gets SIGTERM directly and forwarded (the kernel may merge the two
    // while one is pending), and stops once, cleanly.
    const grouped = await startListening(['--fork', '--stop-delay=200'], port);
    process.kill(-grouped.pid, 'SIGTERM');
    expect(await waitForExit(grouped, 3000)).toEqual({ code: 0, signal: null });
    expect(grouped.stdout().match(/Shutdown complete/g)).toHaveLength(1);
    await waitForPortFree(port, 1000);
  });

  it('answers health with 500, a wrong body, or never, as asked', async () => {
    const [a, b, c] = await findFreePorts(3);
    await Promise.all([
      startListening(['--health=500'], a!),
      startListening(['--health=wrong-body'], b!),
      startListening(['--health=hang'], c!),
    ]);
    expect((await httpGet(`http://127.0.0.1:${a}/actuator/health`)).status).toBe(500);
    const wrong = await httpGet(`http://127.0.0.1:${b}/actuator/health`);
    expect([wrong.status, JSON.parse(wrong.body).status]).toEqual([200, 'DOWN']);
    await expect(httpGet(`http://127.0.0.1:${c}/actuator/health`, 300)).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect((await httpGet(`http://127.0.0.1:${c}/`)).status).toBe(200);
  });
});

describe('reuseport fixture', () => {
  it('shares its port with a second copy, which a Node app cannot', async () => {
    const port = await findFreePort();
    const first = startReuseportApp([`--port=${port}`]);
    await waitForPort(port, BootMs);
    const second = startReuseportApp([`--port=${port}`, '--version-tag=v2']);
    await pollUntil(() => second.stdout().includes('Started on port'), BootMs, 'the second copy to bind');
    const seen = new Set<string>();
    const askBoth = async (): Promise<boolean> => {
      // Each fresh connection goes to one copy, chosen by the kernel from a hash of its address: ask until both answered.
      seen.add((await httpGet(`http://127.0.0.1:${port}/`)).headers['x-version'] as string);
      return seen.size === 2;
    };
    await pollUntil(askBoth, BootMs, 'answers from both copies');
    expect([first.exit(), second.exit()]).toEqual([null, null]);
    const node = startApp([`--port=${port}`]);
    expect((await waitForExit(node, BootMs)).code).toBe(1);
    process.kill(first.pid, 'SIGTERM');
    expect(await waitForExit(first, BootMs)).toEqual({ code: 0, signal: null });
    expect(await canConnect(port)).toBe(true);
  });
});

describe('hammer', () => {
  it('counts connection errors by code and stops by itself at maxDurationMs', async () => {
    const hammer = startHammer(`http://127.0.0.1:${await findFreePort()}/`, { maxDurationMs: 300, pauseMs: 5 });
    await pollUntil(() => hammer.latest().durationMs >= 300, 5000, 'the hammer to reach its maximum duration');
    const counts = await hammer.stop();
    expect(counts).toMatchObject({ ok: 0, hitMaxDuration: true, byVersion: {} });
    expect(counts.failures).toEqual({ ECONNREFUSED: counts.sent });
  });
});

describe('nginx', () => {
  let nginx: TestNginx | undefined;
  afterAll(async () => nginx?.stop());

  it('names the package to install when nginx is missing', () => {
    expect(() => findNginxBin('', [])).toThrow(NginxMissing);
    expect(findNginxBin()).toMatch(/\/nginx$/);
  });

  it('proxies to the live port, passes nginx -t, and switches on reload with no failed request', async () => {
    const [listen, blue, green] = await findFreePorts(3);
    await Promise.all([startListening(['--version-tag=v1'], blue!), startListening(['--version-tag=v2'], green!)]);
    nginx = await startNginx({ listenPort: listen!, livePort: blue! });
    expect(nginx.readInclude()).toBe(`set $service_url http://127.0.0.1:${blue};\n`);
    expect(JSON.parse((await httpGet(`${nginx.url}/actuator/health?probe=1`)).body)).toMatchObject({
      status: 'UP',
      version: 'v1',
    });
    expect((await runCommand(nginx.testCommand, 10_000)).code).toBe(0);
    const master = nginx.masterPid();
    expect(nginx.workerPids().map(readParentPid)).toEqual([master]);

    const hammer = startHammer(`${nginx.url}/`, { concurrency: 2, maxDurationMs: 20_000 });
    await hammer.waitUntil((counts) => (counts.byVersion.v1 ?? 0) >= 20, 5000);
    nginx.writeInclude(green!);
    await nginx.reload();
    await hammer.waitUntil((counts) => (counts.byVersion.v2 ?? 0) >= 20, 5000);
    const counts = await hammer.stop();
    expect(counts).toMatchObject({ failed: 0, failures: {}, hitMaxDuration: false });
    expect(counts.ok).toBe(counts.sent);
    expect(Object.keys(counts.byVersion).sort()).toEqual(['v1', 'v2']);
  });

  it('reports a broken include through nginx -t', async () => {
    fs.writeFileSync(nginx!.includePath, 'set $service_url;\n');
    const result = await runCommand(nginx!.testCommand, 10_000);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('invalid number of arguments in "set" directive');
  });

  it('leaves no nginx process and no prefix behind on stop()', async () => {
    const pids = [nginx!.masterPid(), ...nginx!.workerPids()];
    await nginx!.stop();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(fs.existsSync(nginx!.prefix)).toBe(false);
    nginx = undefined;
  });
});
