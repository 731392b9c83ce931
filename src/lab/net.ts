import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// Waiting on loopback TCP ports: shared by the rehearsal, the benchmarks and the tests.

const PollMs = 25;

/** Poll until the check returns true; reject naming what was awaited after timeoutMs. */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(PollMs);
  }
}

/** Whether a TCP connect to host:port succeeds now. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolve once something accepts TCP connections on host:port; reject after timeoutMs. */
export function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  return pollUntil(() => canConnect(port, host), timeoutMs, `a listener on ${host}:${port}`);
}

/** Resolve once nothing accepts TCP connections on host:port; reject after timeoutMs. */
export function waitForPortFree(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  return pollUntil(async () => !(await canConnect(port, host)), timeoutMs, `${host}:${port} to be free`);
}
