import { spawn } from 'node:child_process';
import path from 'node:path';

/** 100 ms of load: successes, failures by kind, response times. */
export interface Bucket {
  t: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  latencies: number[];
}

/** A running load generator in its own process; stop() returns its buckets on the wall clock. */
export interface Load {
  stop(): Promise<{ startedAt: number; buckets: Bucket[] }>;
}

/** Steady load on `url` from a separate process: `rate` requests a second from `clients` clients, maxSeconds at most. */
export async function startLoad(url: string, clients: number, rate: number, maxSeconds: number): Promise<Load> {
  const worker = spawn(process.execPath, [path.join(import.meta.dirname, 'load-worker.mjs'), JSON.stringify({ url, clients, rate, maxSeconds })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => worker.stdout.once('data', resolve));
  const closed = new Promise<void>((resolve) => worker.once('close', () => resolve()));
  return {
    stop: async () => {
      worker.kill('SIGTERM');
      await closed;
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the load worker printed no result: ${output.slice(0, 200)}`);
      return JSON.parse(line);
    },
  };
}
