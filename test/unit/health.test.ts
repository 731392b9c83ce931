// Health polling's verdict: the last real answer, not a last try the deadline cut short.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { HookOutput } from '../../src/runner/output.ts';
import { waitForHealthy } from '../../src/core/health/wait-healthy.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';

let requests = 0;
// Answers 500 once, then never answers: the app hung after its first failing answer.
const server = http.createServer((_req, res) => {
  requests += 1;
  if (requests === 1) res.writeHead(500).end('boom');
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('waitForHealthy', () => {
  it('keeps the last real answer when the deadline cuts the final try short', async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const me = readProcessInfo(process.pid)!;
    // Time enough for the first answer on a loaded machine (attributing each connection reads /proc); the second try
    // hangs until the deadline cuts it short, well before its own 60 s request timeout.
    const policy = {
      url: `http://127.0.0.1:${port}/health`,
      requestTimeoutMs: 60_000,
      intervalMs: 100,
      untilMs: Date.now() + 4000,
    };
    const failure = await waitForHealthy(me, policy, new HookOutput(pino({ enabled: false }), true)).catch(
      (error: Error) => error,
    );
    expect(requests).toBeGreaterThanOrEqual(2);
    expect((failure as Error).message).toMatch(/not healthy after .* \(\d+ tries\); last: HTTP 500/);
  });
});
