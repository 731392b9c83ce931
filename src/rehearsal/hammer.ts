import { spawn } from 'node:child_process';
import { pollUntil } from './net.ts';

/** What the load client saw: non-2xx answers by status, connection errors by code, 2xx answers by app version. */
export interface HammerCounts {
  sent: number;
  ok: number;
  failed: number;
  /** "status 502", "ECONNREFUSED", "ECONNRESET", "TIMEOUT", … */
  failures: Record<string, number>;
  /** From the x-version header (or `version=` in the body) of 2xx answers. */
  byVersion: Record<string, number>;
  durationMs: number;
  /** True when the worker stopped by itself at maxDurationMs rather than on stop(). */
  hitMaxDuration: boolean;
}

/** How hard and how long to hammer. */
export interface HammerOptions {
  /** Requests in flight at once. Default 2 (two shared cores). */
  concurrency?: number;
  /** The worker stops by itself after this long. Default 60 s. */
  maxDurationMs?: number;
  /** A request with no answer by then counts as TIMEOUT. Default 3 s. */
  requestTimeoutMs?: number;
  /**
   * Reuse connections. Default false: nginx closes idle keep-alive connections on reload, and a request racing
   * that close fails with ECONNRESET whatever the deployment does, which would hide the failures that matter.
   */
  keepAlive?: boolean;
  /** Pause between one loop's requests. Default 0. */
  pauseMs?: number;
}

/** A running load client. */
export interface Hammer {
  pid: number;
  /** The latest counts the worker reported (every 100 ms). */
  latest(): HammerCounts;
  /** Resolve with the counts once the predicate holds; reject after timeoutMs. */
  waitUntil(predicate: (counts: HammerCounts) => boolean, timeoutMs: number): Promise<HammerCounts>;
  /** Stop sending, let requests in flight finish, and resolve with the final counts. */
  stop(): Promise<HammerCounts>;
}

// The worker runs in its own Node process so that the test's event loop is never what limits the load.
const WorkerSource = `
import http from 'node:http';
const o = JSON.parse(process.argv[1]);
const agent = o.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: o.concurrency }) : false;
const c = { sent: 0, ok: 0, failed: 0, failures: {}, byVersion: {}, durationMs: 0, hitMaxDuration: false };
const startedAt = Date.now();
let running = true;
const bump = (map, key) => { map[key] = (map[key] ?? 0) + 1; };
const report = (type) => { c.durationMs = Date.now() - startedAt; process.stdout.write(JSON.stringify({ type, ...c }) + '\\n'); };
function once() {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok, key) => {
      if (settled) return;
      settled = true;
      if (ok) { c.ok++; bump(c.byVersion, key); } else { c.failed++; bump(c.failures, key); }
      resolve();
    };
    c.sent++;
    const req = http.get(o.url, { agent, timeout: o.requestTimeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { if (body.length < 4096) body += chunk; });
      res.on('error', (e) => settle(false, e.code ?? 'response error'));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) return settle(false, 'status ' + status);
        settle(true, res.headers['x-version'] ?? /version=(\\S+)/.exec(body)?.[1] ?? 'unknown');
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => settle(false, e.code ?? e.message));
  });
}
async function loop() {
  while (running) {
    await once();
    if (o.pauseMs > 0) await new Promise((r) => setTimeout(r, o.pauseMs));
  }
}
const loops = Array.from({ length: o.concurrency }, loop);
const progress = setInterval(() => report('progress'), 100);
let stopping = false;
async function stop(byTimer) {
  if (stopping) return;
  stopping = true;
  running = false;
  c.hitMaxDuration = byTimer;
  clearInterval(progress);
  clearTimeout(maxTimer);
  await Promise.all(loops);
  report('final');
  process.stdout.end(() => process.exit(0));
}
const maxTimer = setTimeout(() => stop(true), o.maxDurationMs);
process.stdin.on('data', () => stop(false));
process.stdin.on('end', () => stop(false));
process.on('SIGTERM', () => stop(false));
`;

const LoopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

function emptyCounts(): HammerCounts {
  return { sent: 0, ok: 0, failed: 0, failures: {}, byVersion: {}, durationMs: 0, hitMaxDuration: false };
}

/** Send GETs to a loopback URL continuously from a separate process until stop() or maxDurationMs. */
export function startHammer(url: string, options: HammerOptions = {}): Hammer {
  if (!LoopbackHosts.has(new URL(url).hostname)) throw new Error(`the hammer only loads loopback URLs, not ${url}`);
  const settings = {
    url,
    concurrency: options.concurrency ?? 2,
    maxDurationMs: options.maxDurationMs ?? 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 3000,
    keepAlive: options.keepAlive ?? false,
    pauseMs: options.pauseMs ?? 0,
  };
  const child = spawn(process.execPath, ['--input-type=module', '-e', WorkerSource, JSON.stringify(settings)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let latest = emptyCounts();
  let final: HammerCounts | null = null;
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const { type, ...counts } = JSON.parse(line) as HammerCounts & { type: string };
      latest = counts;
      if (type === 'final') final = counts;
    }
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  // Writing to a worker that already stopped itself fails with EPIPE; the final counts are already read then.
  child.stdin.on('error', () => {});

  const waitUntil = async (predicate: (counts: HammerCounts) => boolean, timeoutMs: number): Promise<HammerCounts> => {
    await pollUntil(() => predicate(latest) || final !== null, timeoutMs, `the hammer's counts to match (now ${JSON.stringify(latest)})`);
    if (!predicate(latest)) throw new Error(`the hammer stopped before its counts matched: ${JSON.stringify(latest)}`);
    return latest;
  };
  const stop = async (): Promise<HammerCounts> => {
    child.stdin.end('stop\n');
    const bound = settings.requestTimeoutMs + 5000;
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), bound).unref());
    if ((await Promise.race([exited, timer])) === 'late') {
      child.kill('SIGKILL');
      throw new Error(`the hammer did not stop within ${bound} ms; stderr: ${stderr}`);
    }
    if (final === null) throw new Error(`the hammer exited without final counts (code ${child.exitCode}); stderr: ${stderr}`);
    return final;
  };
  return { pid: child.pid!, latest: () => latest, waitUntil, stop };
}
