import { spawn } from 'node:child_process';
import path from 'node:path';
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

/** 100 ms of load, by the moment answers ended: successes, failures by kind, response times. */
export interface Bucket {
  /** ms since the worker started. */
  t: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  latencies: number[];
}

/** The final counts, with the worker's start on the wall clock and every 100 ms bucket. */
export interface HammerResult extends HammerCounts {
  startedAt: number;
  buckets: Bucket[];
}

/** How hard and how long to hammer. */
export interface HammerOptions {
  /** Clients, each with one request in flight at a time. Default 2 (two shared cores). */
  concurrency?: number;
  /** Requests a second from all clients together, steadily; default 0: each client as fast as it gets answers. */
  rate?: number;
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
  /** An argv prefix the worker runs through (nsenter into a container's network, for one); default none. */
  launcher?: string[];
}

/** A running load client. */
export interface Hammer {
  pid: number;
  /** The latest counts the worker reported (every 100 ms). */
  latest(): HammerCounts;
  /** Resolve with the counts once the predicate holds; reject after timeoutMs. */
  waitUntil(predicate: (counts: HammerCounts) => boolean, timeoutMs: number): Promise<HammerCounts>;
  /** Resolves once the worker runs and has reported. */
  started: Promise<void>;
  /** Stop sending, let requests in flight finish, and resolve with the final counts and buckets. */
  stop(): Promise<HammerResult>;
}

// The worker is a plain .mjs file beside this one: it runs in its own Node process, with no TypeScript loader.
const WorkerPath = path.join(import.meta.dirname, 'hammer-worker.mjs');

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
    rate: options.rate ?? 0,
    maxDurationMs: options.maxDurationMs ?? 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 3000,
    keepAlive: options.keepAlive ?? false,
    pauseMs: options.pauseMs ?? 0,
  };
  const [program, ...args] = [...(options.launcher ?? []), process.execPath, WorkerPath, JSON.stringify(settings)];
  const child = spawn(program!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let latest = emptyCounts();
  let final: HammerResult | null = null;
  let reported: () => void = () => {};
  let died: (error: Error) => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    reported = resolve;
    died = reject;
  });
  // Nobody need await `started`: a worker that dies unheard is reported by stop().
  started.catch(() => {});
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const { type, startedAt, buckets, ...counts } = JSON.parse(line) as HammerResult & { type: string };
      latest = counts;
      reported();
      if (type === 'final') final = { ...counts, startedAt, buckets };
    }
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  // A rejection after the first report changes nothing: the promise has settled.
  void exited.then(() =>
    died(new Error(`the hammer exited before it reported (code ${child.exitCode}); stderr: ${stderr}`)),
  );
  // Writing to a worker that already stopped itself fails with EPIPE; the final counts are already read then.
  child.stdin.on('error', () => {});

  const waitUntil = async (predicate: (counts: HammerCounts) => boolean, timeoutMs: number): Promise<HammerCounts> => {
    await pollUntil(
      () => predicate(latest) || final !== null,
      timeoutMs,
      `the hammer's counts to match (now ${JSON.stringify(latest)})`,
    );
    if (!predicate(latest)) throw new Error(`the hammer stopped before its counts matched: ${JSON.stringify(latest)}`);
    return latest;
  };
  const stop = async (): Promise<HammerResult> => {
    child.stdin.end('stop\n');
    const bound = settings.requestTimeoutMs + 5000;
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), bound).unref());
    if ((await Promise.race([exited, timer])) === 'late') {
      child.kill('SIGKILL');
      throw new Error(`the hammer did not stop within ${bound} ms; stderr: ${stderr}`);
    }
    if (final === null)
      throw new Error(`the hammer exited without final counts (code ${child.exitCode}); stderr: ${stderr}`);
    return final;
  };
  return { pid: child.pid!, latest: () => latest, waitUntil, started, stop };
}
