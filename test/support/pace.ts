import { findFreePort } from '../../src/lab/ports.ts';
import { waitForPort } from '../../src/lab/net.ts';
import { httpGet, startApp } from './app.ts';

// How fast this machine is right now, from work the hook tests repeat: the fixture app started, bound and asked for
// its health once. The tests' health and start budgets scale with it (test/support/deployment.ts).

/** Re-measured when older than this: the load on a shared machine comes and goes. */
const MaxAgeMs = 30_000;
/** Past this the app did not start at all: the budgets stay at their floor and the test fails on its own terms. */
const GiveUpMs = 60_000;

let last: { at: number; ms: number } | null = null;

/** Milliseconds from spawning the fixture app to its first health answer, measured at most every 30 s. */
export async function measurePace(): Promise<number> {
  if (last && Date.now() - last.at < MaxAgeMs) return last.ms;
  const port = await findFreePort();
  const startedAt = performance.now();
  const app = startApp([`--port=${port}`, '--version-tag=pace']);
  try {
    await waitForPort(port, GiveUpMs);
    await httpGet(`http://127.0.0.1:${port}/actuator/health`, GiveUpMs);
  } catch {
    // Not started within a minute: no pace to scale by.
    return 0;
  } finally {
    try {
      process.kill(-app.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  last = { at: Date.now(), ms: performance.now() - startedAt };
  return last.ms;
}

/** A duration for a test config: `times` the machine's pace, at least `floorMs` (what an idle machine needs). */
export async function pacedDuration(floorMs: number, times: number): Promise<string> {
  const ms = Math.max(floorMs, Math.ceil((await measurePace()) * times));
  return `${ms}ms`;
}
