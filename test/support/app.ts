import http from 'node:http';
import path from 'node:path';
import { spawnTracked, type AppProcess } from '../../src/lab/processes.ts';

// The test fixtures' own starters and a plain GET; spawning, waiting and stopping are the lab's (src/lab).

/** The Node fixture app with the fault table's failure modes. */
export const FixtureAppPath = path.resolve(import.meta.dirname, '../fixtures/app.mjs');
/** The python fixture that binds with SO_REUSEPORT. */
export const ReuseportAppPath = path.resolve(import.meta.dirname, '../fixtures/reuseport-app.py');

/** Start the fixture app with the given flags (`--port=N`, `--stop-delay=8000`, …). */
export function startApp(args: string[], env?: NodeJS.ProcessEnv): AppProcess {
  return spawnTracked([process.execPath, FixtureAppPath, ...args], env);
}

/** Start the SO_REUSEPORT python fixture (`--port=N`, `--version-tag=v`). */
export function startReuseportApp(args: string[]): AppProcess {
  return spawnTracked(['python3', ReuseportAppPath, ...args]);
}

/** Whether any process of the group led by pgid is still there (zombies included). */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    // ESRCH: the whole group is gone.
    return false;
  }
}

/** A response read whole. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET a URL on a fresh connection; reject on connection errors or after timeoutMs. */
export function httpGet(url: string, timeoutMs = 2000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`GET ${url} timed out after ${timeoutMs} ms`), { code: 'TIMEOUT' })),
    );
    req.on('error', reject);
  });
}
