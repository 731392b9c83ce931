// Health polling's verdict: the last real answer, not a last try the deadline cut short.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createHookLogger } from '../../src/core/hook/logger.ts';
import { HookOutput } from '../../src/core/hook/output.ts';
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
    const policy = { url: `http://127.0.0.1:${port}/health`, requestTimeoutMs: 5000, intervalMs: 100, untilMs: Date.now() + 800 };
    const failure = await waitForHealthy(me, policy, new HookOutput(createHookLogger(null, {}), true)).catch((error: Error) => error);
    expect(requests).toBeGreaterThanOrEqual(2);
    expect((failure as Error).message).toMatch(/not healthy after .* \(\d+ tries\); last: HTTP 500/);
  });
});
