import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { classifyConnection } from '../../src/core/drain/classify.ts';
import { readConnections } from '../../src/core/drain/read-connections.ts';
import { pollUntil } from '../../src/core/wait.ts';
import { localDeploymentId, runHookAsAgent2 } from '../../src/lab/agent2.ts';
import { startHammer } from '../../src/lab/hammer.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { openExchange, type Exchange } from '../../src/lab/traffic.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, remember } from '../support/hook-tests.ts';

// DESIGN.md "Draining a version": before a stop signal the version's connections are classified, requests in flight
// finish within stop.drain, idle connections never hold the stop, and the verdict says what was cut.

const open: Exchange[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) e.close();
  for (const a of agents.splice(0)) a.destroy();
  await stopAll();
});
afterAll(cleanUpHookTests);

const HooksDir = path.resolve(import.meta.dirname, '../../hooks');

/** An in-place app started by the hooks, with the drain and appspec timeouts given; its port and PID. */
async function runningApp(stop: Record<string, unknown>, timeouts?: { ApplicationStop: number }) {
  const port = await findFreePort();
  const setup = { ports: [port], stop: { grace: '5s', ...stop }, timeouts, hooksDir: HooksDir };
  const { stateDir, revision } = await deployed(setup);
  expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
  const pid = remember(stateDir, port);
  return { port, pid, stateDir, revision, base: `http://127.0.0.1:${port}` };
}

/** Start an exchange and wait until it is under way. */
async function begin(base: string, kind: Parameters<typeof openExchange>[1], options = {}): Promise<Exchange> {
  const exchange = openExchange(base, kind, options);
  open.push(exchange);
  await exchange.started;
  return exchange;
}

/** The drain's entry in the hook's JSON log. */
function drainLog(stateDir: string): Record<string, unknown> {
  const lines = fs
    .readFileSync(path.join(stateDir, 'fixture', 'hooks.log'), 'utf8')
    .trim()
    .split('\n');
  const entry = lines.map((l) => JSON.parse(l)).findLast((e) => e.drain !== undefined);
  return entry.drain;
}

describe('draining a version before its stop (compiled hooks, in place)', () => {
  it('idle keep-alive connections never hold the stop: nothing in flight, cut: nothing', async () => {
    const app = await runningApp({ drain: '5m' });
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    await new Promise((resolve) => http.get(`${app.base}/`, { agent }, (res) => res.resume().on('end', resolve)));
    // Wait (a budget, not a measure) until tcp_info shows the keep-alive quiet: its answer sent, nothing since.
    const quiet = await pollUntil(async () => {
      const look = await readConnections(app.port, false);
      const ends = look.ok ? look.connections.filter((c) => c.localPort === app.port) : [];
      return ends.length === 1 && classifyConnection(ends[0]!) === 'idle' ? true : undefined;
    }, Date.now() + 10_000);
    expect(quiet.done).toBe(true);
    const stop = await app.revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', `stopped PID ${app.pid}`, 'nothing in flight; cut: nothing');
    expect(drainLog(app.stateDir)).toMatchObject({ classified: true, idle: 1, waitedMs: 0, cut: [] });
  });

  it('requests in flight (an upload, a slow download) finish before the signal: cut: nothing', async () => {
    const app = await runningApp({ drain: '1m' });
    const upload = await begin(app.base, 'upload', { ms: 5000 });
    const download = await begin(app.base, 'download', { ms: 5000, kb: 32 });
    const stop = await app.revision.run('stop');
    expectVerdict(
      stop,
      'ApplicationStop',
      'OK',
      `stopped PID ${app.pid}`,
      /after draining [\d.]+ s: .*finished; cut: nothing$/,
    );
    expect(await upload.outcome).toBe('completed');
    expect(await download.outcome).toBe('completed');
    expect(isAlive(app.pid)).toBe(false);
    expect(drainLog(app.stateDir)).toMatchObject({ endedBy: 'quiet', cut: [] });
  });

  it('requests that keep arriving during the drain (in place, no load balancer) do not hold it to stop.drain', async () => {
    const app = await runningApp({ drain: '10m' });
    const upload = await begin(app.base, 'upload', { ms: 8000 });
    const load = startHammer(`${app.base}/`, { concurrency: 2, rate: 50, maxDurationMs: 120_000 });
    await load.started;
    try {
      const stop = await app.revision.run('stop');
      expectVerdict(stop, 'ApplicationStop', 'OK', `stopped PID ${app.pid}`, /after draining [\d.]+ s: \d+ requests? /);
      expect(stop.verdict).not.toContain('ran out');
      expect(await upload.outcome).toBe('completed');
    } finally {
      await load.stop();
    }
  });

  it('an event stream is held at most stop.drain, then cut and counted', async () => {
    const app = await runningApp({ drain: '2s' });
    const events = await begin(app.base, 'events', { everyMs: 200 });
    const stop = await app.revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', 'stop.drain (2.0 s) ran out; cut: 1 stream (open ');
    expect(await events.outcome).toBe('cut');
    expect(drainLog(app.stateDir)).toMatchObject({ endedBy: 'drain', cut: [{ kind: 'stream' }] });
  });

  it('a websocket (traffic both ways) is held at most stop.drain, then cut and counted as a two-way stream', async () => {
    const app = await runningApp({ drain: '5s' });
    const socket = await begin(app.base, 'websocket', { everyMs: 300 });
    const stop = await app.revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', 'ran out; cut: 1 two-way stream (open ');
    expect(await socket.outcome).toBe('cut');
  });

  it("a drain longer than the hook's deadline: the deadline wins, and the verdict says so", async () => {
    // appspec timeout 8 s: the hook's deadline is 6 s after its start; the stop keeps its share of it.
    const app = await runningApp({ drain: '10m' }, { ApplicationStop: 8 });
    const events = await begin(app.base, 'events', { everyMs: 200 });
    const stop = await app.revision.run('stop');
    expectVerdict(stop, 'ApplicationStop', 'OK', "the hook's deadline ended the drain before stop.drain (10 m)");
    expect(stop.verdict).toContain('cut: 1 stream (open ');
    expect(await events.outcome).toBe('cut');
  });

  it("agent 2's SIGTERM mid-drain: the hook's own verdict names the drain, before the SIGKILL 5 s later", async () => {
    const app = await runningApp({ drain: '10m' });
    await begin(app.base, 'events', { everyMs: 200 });
    const log = path.join(app.stateDir, 'fixture', 'hooks.log');
    const draining = async (pid: number) => {
      const begun = await pollUntil(() => {
        const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(0, -1) : [];
        return lines.some((l) => l.includes(`"pid":${pid}`) && l.includes('Draining port')) ? true : undefined;
      }, Date.now() + 60_000);
      if (!begun.done) throw new Error(`hook PID ${pid} never began draining`);
    };
    const who = { deploymentId: localDeploymentId(), applicationName: 'fixture', groupName: 'g', groupId: 'g-1' };
    const options = { timeoutSeconds: 300, restrictEnv: true, terminateWhen: draining };
    const run = await runHookAsAgent2(app.revision.dir, 'stop', who, options);
    expect(run.killed, run.stdout).toBe(false);
    expect(run.verdict).toMatch(/^portproof ApplicationStop FAILED: interrupted by SIGTERM .* while draining port \d+/);
    // Interrupted before its signal: the version runs on, as ApplicationStop found it.
    expect(isAlive(app.pid)).toBe(true);
  });

  it('a host without ss: the stop goes on, and the verdict says the connections were not classified', async () => {
    const app = await runningApp({ drain: '1m' });
    const events = await begin(app.base, 'events', { everyMs: 200 });
    const emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-no-ss-'));
    try {
      const stop = await app.revision.run('stop', { env: { PATH: emptyPath } });
      expectVerdict(stop, 'ApplicationStop', 'OK', `stopped PID ${app.pid}`);
      expect(stop.verdict).toContain('connections not classified (ss not found: install iproute2)');
      expect(await events.outcome).toBe('cut');
    } finally {
      fs.rmSync(emptyPath, { recursive: true, force: true });
    }
  });

  it('an in-place deployment: the stop drains the request in flight, the new version starts and validates', async () => {
    const app = await runningApp({ drain: '1m' });
    const upload = await begin(app.base, 'upload', { ms: 4000 });
    const { revision: v2 } = await deployed({ ports: [app.port], versionTag: 'v2', stateDir: app.stateDir });
    expectVerdict(await app.revision.run('stop'), 'ApplicationStop', 'OK', /1 request finished; cut: nothing$/);
    expectVerdict(await v2.run('start'), 'ApplicationStart', 'OK');
    remember(app.stateDir, app.port);
    expectVerdict(await v2.run('validate'), 'ValidateService', 'OK');
    expect(await upload.outcome).toBe('completed');
  });
});
