// --wait: poll GetDeployment through InProgress to a final status, progress lines at most every interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentInfo } from '../support/codedeploy-fixtures.ts';
import { startCodeDeployServer, type CodeDeployServer } from '../support/codedeploy-server.ts';
import { linesOf, runWhyCli, whyEnv } from '../support/why-cli.ts';
import { WhyError } from '../../src/why/errors.ts';
import type { DeploymentFacts } from '../../src/why/types.ts';
import { waitForFinalStatus } from '../../src/why/wait.ts';
import { overview, singleFailure } from './scenarios.ts';

let server: CodeDeployServer;

/** InProgress twice (counts moving), then Failed. */
function progression() {
  return [
    {
      status: 'InProgress',
      completeTime: undefined,
      errorInformation: undefined,
      deploymentOverview: overview({ InProgress: 1 }),
    },
    {
      status: 'InProgress',
      completeTime: undefined,
      errorInformation: undefined,
      deploymentOverview: overview({ InProgress: 1 }),
    },
    {
      status: 'InProgress',
      completeTime: undefined,
      errorInformation: undefined,
      deploymentOverview: overview({ InProgress: 1 }),
    },
    { status: 'Failed', deploymentOverview: overview({ Failed: 1 }) },
  ];
}

beforeAll(async () => {
  server = await startCodeDeployServer();
  for (const id of ['d-WAITTEXT1', 'd-WAITJSON1', 'd-WAITTHRT1'])
    server.addDeployment(id, { ...singleFailure(id), progression: progression() });
  server.addDeployment('d-BLUEGRN01', {
    ...singleFailure('d-BLUEGRN01'),
    info: deploymentInfo({ status: 'Ready', errorInformation: undefined }),
  });
});
afterAll(() => server.close());

describe('portproof why --wait (CLI)', () => {
  it('follows InProgress → Failed with progress lines, then prints the report; exit 1', async () => {
    const r = await runWhyCli(
      ['d-WAITTEXT1', '--wait', '--endpoint-url', server.url],
      whyEnv({ PORTPROOF_WHY_POLL_MS: '20', PORTPROOF_WHY_PROGRESS_MS: '1' }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = linesOf(r.stdout);
    const progress = out.filter((l) => l.startsWith('waiting for '));
    expect(progress).toHaveLength(3);
    for (const line of progress) {
      expect(line).toMatch(
        /^waiting for d-WAITTEXT1: InProgress after \d+(ms|s) \(0 succeeded, 0 failed, 0 skipped, 1 in progress, 0 pending\)$/,
      );
    }
    // Progress first, then the report of the final state.
    expect(out.indexOf('deployment d-WAITTEXT1: Failed')).toBeGreaterThan(out.lastIndexOf(progress[2]!));
    expect(out).toContain(
      '1 of 1 instance: ValidateService failed (ScriptFailed) in hooks/validate: Script at specified location: hooks/validate run as user root failed with exit code 1',
    );
    expect(server.callsTo('GetDeployment').filter((c) => c.body.deploymentId === 'd-WAITTEXT1')).toHaveLength(4);
  });

  it('with --json, progress goes to stderr and stdout stays one JSON document', async () => {
    const r = await runWhyCli(
      ['d-WAITJSON1', '--wait', '--json', '--endpoint-url', server.url],
      whyEnv({ PORTPROOF_WHY_PROGRESS_MS: '1' }),
    );
    expect(r.code).toBe(1);
    expect(linesOf(r.stderr).every((l) => l.startsWith('waiting for d-WAITJSON1: InProgress'))).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ deployment: { status: 'Failed' }, exitCode: 1 });
  });

  it('rides out a poll that stays throttled through the SDK retries', async () => {
    server.fault({ type: 'ThrottlingException', message: 'Rate exceeded', operation: 'GetDeployment', times: 3 });
    const r = await runWhyCli(['d-WAITTHRT1', '--wait', '--endpoint-url', server.url], whyEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(linesOf(r.stdout).at(-1)).toMatch(/^portproof why d-WAITTHRT1: Failed/);
  });

  it('Ready (blue/green waiting to reroute) is final: no polling, exit 0', async () => {
    const r = await runWhyCli(['d-BLUEGRN01', '--wait', '--endpoint-url', server.url], whyEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('waiting for');
    expect(linesOf(r.stdout)[0]).toBe('deployment d-BLUEGRN01: Ready');
  });
});

describe('waitForFinalStatus', () => {
  function facts(status: string): DeploymentFacts {
    return {
      id: 'd-CLOCK0001',
      status,
      overview: { pending: 0, inProgress: 1, succeeded: 0, failed: 0, skipped: 0, ready: 0 },
      statusMessages: [],
    };
  }

  it('prints a progress line at most every progress interval, however often it polls', async () => {
    let clock = 0;
    let polls = 0;
    const lines: string[] = [];
    const final = await waitForFinalStatus(async () => (++polls > 13 ? facts('Succeeded') : facts('InProgress')), {
      pollMs: 1000,
      progressMs: 5000,
      onProgress: (line) => lines.push(line),
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    expect(final.status).toBe('Succeeded');
    // Polls at 0…12 s: lines at 0, 5 and 10 s only.
    expect(lines).toEqual([
      'waiting for d-CLOCK0001: InProgress after 0ms (0 succeeded, 0 failed, 0 skipped, 1 in progress, 0 pending)',
      'waiting for d-CLOCK0001: InProgress after 5s (0 succeeded, 0 failed, 0 skipped, 1 in progress, 0 pending)',
      'waiting for d-CLOCK0001: InProgress after 10s (0 succeeded, 0 failed, 0 skipped, 1 in progress, 0 pending)',
    ]);
  });

  it('skips throttled polls, but gives up after maxThrottledPolls in a row; other errors end it at once', async () => {
    const throttled = () =>
      new WhyError('CodeDeploy throttled GetDeployment', 3, {
        cause: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      });
    const options = { pollMs: 1, progressMs: 1, onProgress: () => {}, sleep: async () => {}, maxThrottledPolls: 3 };
    let n = 0;
    const twice = async () => (++n <= 2 ? Promise.reject(throttled()) : facts('Failed'));
    await expect(waitForFinalStatus(twice, options)).resolves.toMatchObject({ status: 'Failed' });
    await expect(waitForFinalStatus(async () => Promise.reject(throttled()), options)).rejects.toThrow('throttled');
    let calls = 0;
    const denied = async () => {
      calls += 1;
      throw new WhyError('access denied');
    };
    await expect(waitForFinalStatus(denied, options)).rejects.toThrow('access denied');
    expect(calls).toBe(1);
  });
});
