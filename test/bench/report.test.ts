// The deployment benchmark's arithmetic: what counts as failed, as a false success, and the switch latencies.
import { describe, expect, it } from 'vitest';
import { formatSummaries, summarizeRun } from '../../bench/deploy/report.ts';
import type { ScenarioResult } from '../../bench/deploy/scenario.ts';

const setting = { shutdownMs: 18_000, startMs: 500, deployments: 2 };
const bucket = (t: number, ok: number, failures: Record<string, number> = {}, latencies = [1, 2, 3]) => ({
  t,
  ok,
  failed: Object.values(failures).reduce((a, b) => a + b, 0),
  failures,
  latencies,
});

const run: ScenarioResult = {
  system: 'shell recipe',
  setting,
  deployments: [
    {
      version: 'v1',
      marks: { stop: 1000, start: 6000, validate: 16_000, end: 16_200 },
      reportedSuccess: true,
      nginxOnListener: false,
      wallMs: 15_200,
    },
    {
      version: 'v2',
      marks: { stop: 40_000, start: 45_000, validate: 140_000, end: 141_000 },
      reportedSuccess: false,
      nginxOnListener: true,
      wallMs: 101_000,
    },
  ],
  buckets: [
    bucket(900, 40),
    bucket(16_100, 38, {}, [5, 400]),
    bucket(19_000, 0, { 'status 502': 40 }),
    bucket(19_100, 0, { 'status 502': 39, ECONNRESET: 1 }),
  ],
};

describe('the deployment benchmark report', () => {
  it('counts failures by kind, false successes and dead ports per deployment', () => {
    const s = summarizeRun(run);
    expect(s).toMatchObject({
      requests: 158,
      failed: 80,
      failures: { 'status 502': 79, ECONNRESET: 1 },
      reportedSuccess: 1,
      successWithoutListener: 1,
      nginxOnDeadPort: 1,
      deployments: 2,
    });
    expect(s.medianWallS).toBe(101);
    // Only the buckets from validate to a second after the switch count as "at switch".
    expect([s.switchP50Ms, s.switchP99Ms]).toEqual([400, 400]);
  });

  it('prints one row per run with the failures spelled out', () => {
    const table = formatSummaries([summarizeRun(run)]).split('\n');
    expect(table).toHaveLength(3);
    expect(table[2]).toContain('status 502: 79, ECONNRESET: 1');
    expect(table[2]).toContain('1/2');
  });
});
