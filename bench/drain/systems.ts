import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRevision } from '../../src/lab/agent.ts';
import { nginxSection, type TestNginx } from '../../src/lab/nginx.ts';
import { waitForExit, type AppProcess } from '../../src/lab/processes.ts';
import { writeRevision } from '../../src/lab/revision.ts';
import type { Exchange } from '../../src/lab/traffic.ts';
import { runHookProcess } from '../../src/lab/agent.ts';

// The ways a deployment stops the previous version once nginx has switched away from it, as the drain bench compares
// them: portproof's compiled ApplicationStop (drain, then signal), the shell recipe's stop.sh (kill -15, sleep 5), a
// stop without any drain (what nginx alone gives: its old worker keeps the client, the upstream dies under it), and
// kamal-proxy's documented semantics, modelled: websockets cancelled at once, other requests (SSE too) drained up to
// its drain timeout, then the target stopped.

const repo = path.resolve(import.meta.dirname, '../..');
const FixtureApp = path.join(repo, 'test/fixtures/app.mjs');

/** What one stop is given: the old app's port and process, nginx, the exchanges under way, the drain to use. */
export interface StopContext {
  port: number;
  ports: number[];
  app: AppProcess;
  nginx: TestNginx;
  exchanges: Exchange[];
  drainMs: number;
  workDir: string;
}

/** One way to stop the old version; the verdict line when the system prints one. */
export interface StopSystem {
  name: string;
  stop(ctx: StopContext): Promise<{ verdict: string | null }>;
}

/** portproof's compiled ApplicationStop from a revision whose portproof.yml sets stop.drain. */
export const portproof: StopSystem = {
  name: 'portproof',
  async stop(ctx) {
    const dir = fs.mkdtempSync(path.join(ctx.workDir, 'revision-'));
    const config = {
      app: { name: 'bench', command: [process.execPath, FixtureApp, '--port={port}'], supervisor: 'direct' },
      ports: ctx.ports,
      health: { url: 'http://127.0.0.1:{port}/actuator/health' },
      stop: { drain: `${ctx.drainMs}ms`, grace: '10s' },
      nginx: nginxSection(ctx.nginx),
      stateDir: path.join(ctx.workDir, 'state'),
    };
    writeRevision(dir, { config });
    const runner = { deploymentId: 'd-DRAIN', applicationName: 'bench', groupName: 'bench', groupId: 'g-1' };
    const revision = openRevision(dir, { ...runner, hookArgv: (entry) => [path.join(repo, 'hooks', entry)] });
    const run = await revision.run('stop');
    return { verdict: run.verdict };
  },
};

/** The recipe's ApplicationStop (bench/baseline/stop.sh): kill -15 what listens on the idle port, sleep 5 s. */
export const shellRecipe: StopSystem = {
  name: 'shell recipe',
  async stop(ctx) {
    const env = { ...process.env, INCLUDE: ctx.nginx.includePath, PORTS: ctx.ports.join(' ') };
    await runHookProcess(['bash', path.join(repo, 'bench/baseline/stop.sh')], [], env);
    return { verdict: null };
  },
};

/** SIGTERM at once, wait for the exit: a stop with no drain, as nginx alone leaves it. */
export const noDrain: StopSystem = {
  name: 'no drain (nginx alone)',
  async stop(ctx) {
    ctx.app.child.kill('SIGTERM');
    await waitForExit(ctx.app, 10_000);
    return { verdict: null };
  },
};

/** kamal-proxy's documented drain, modelled with what a proxy knows: its own requests under way. */
export const kamalModel: StopSystem = {
  name: 'kamal-proxy (modelled)',
  async stop(ctx) {
    for (const e of ctx.exchanges) if (e.kind === 'websocket') e.abort();
    const pending = ctx.exchanges.filter((e) => e.kind !== 'websocket').map((e) => e.outcome);
    const drained = new Promise((resolve) => setTimeout(resolve, ctx.drainMs).unref());
    await Promise.race([Promise.all(pending), drained]);
    // At the drain's end the proxy cancels what is left (SSE): the client sees the stream end.
    for (const e of ctx.exchanges) if (e.kind !== 'websocket') e.abort();
    ctx.app.child.kill('SIGTERM');
    await waitForExit(ctx.app, 10_000);
    return { verdict: null };
  },
};

/** A scratch directory for one system's runs (root-owned, 0700: the hooks' state directory lives in it). */
export function makeWorkDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-drain-'));
}
