// The core called directly: fetching (real SDK → local server), grouping, rendering.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  deploymentInfo,
  instanceId,
  instanceSummary,
  instanceTarget,
  lifecycleEvents,
} from '../support/codedeploy-fixtures.ts';
import { startCodeDeployServer, type CodeDeployServer } from '../support/codedeploy-server.ts';
import { whyEnv } from '../support/why-cli.ts';
import { createWhyClient, type WhyClient } from '../../src/why/client.ts';
import { explainCodeDeployError } from '../../src/why/errors.ts';
import { fetchDeployment } from '../../src/why/fetch-deployment.ts';
import { fetchTargets } from '../../src/why/fetch-targets.ts';
import { wrapList } from '../../src/why/format.ts';
import { findVerdict, groupFailures } from '../../src/why/group-failures.ts';
import { renderText } from '../../src/why/render-text.ts';
import { exitCodeFor } from '../../src/why/run-why.ts';
import type { TargetFacts } from '../../src/why/types.ts';
import { overview } from './scenarios.ts';

let server: CodeDeployServer;
let why: WhyClient;

beforeAll(async () => {
  // The same clean environment the CLI tests give the child: fake keys, no config files, no instance metadata.
  for (const [key, value] of Object.entries(whyEnv())) if (key.startsWith('AWS_')) vi.stubEnv(key, value);
  server = await startCodeDeployServer({ pageSize: 10 });
  const many = Array.from({ length: 60 }, (_, k) =>
    instanceTarget('d-MANY00001', instanceId(k + 1), 'Succeeded', lifecycleEvents()),
  );
  server.addDeployment('d-MANY00001', {
    info: deploymentInfo({ status: 'Succeeded', deploymentOverview: overview({ Succeeded: 60 }) }),
    targets: many,
  });
  const old = Array.from({ length: 30 }, (_, k) =>
    instanceSummary('d-OLD000001', instanceId(k + 1), 'Succeeded', lifecycleEvents()),
  );
  server.addDeployment('d-OLD000001', {
    info: deploymentInfo({ status: 'Succeeded', deploymentOverview: overview({ Succeeded: 30 }) }),
    instances: old,
  });
  server.addDeployment('d-QUEUED001', {
    info: deploymentInfo({
      status: 'Queued',
      startTime: undefined,
      completeTime: undefined,
      errorInformation: undefined,
      deploymentOverview: overview({ Pending: 2 }),
    }),
    notStarted: true,
  });
  const ecs = {
    deploymentTargetType: 'ECSTarget',
    ecsTarget: {
      deploymentId: 'd-ECS000001',
      targetId: 'prod-cluster:web',
      targetArn: 'arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/web',
      status: 'Failed',
      lifecycleEvents: [
        { lifecycleEventName: 'BeforeInstall', status: 'Succeeded' },
        {
          lifecycleEventName: 'AfterAllowTestTraffic',
          status: 'Failed',
          diagnostics: {
            errorCode: 'ScriptFailed',
            scriptName: 'CheckTestTraffic',
            message: 'The Lambda hook returned Failed',
          },
        },
      ],
    },
  };
  server.addDeployment('d-ECS000001', {
    info: deploymentInfo({ computePlatform: 'ECS', deploymentOverview: overview({ Failed: 1 }) }),
    targets: [ecs],
  });
  why = createWhyClient({ endpointUrl: server.url });
});
afterAll(async () => {
  why.client.destroy();
  await server.close();
  vi.unstubAllEnvs();
});

describe('fetchTargets through the SDK', () => {
  it('follows every page and asks BatchGetDeploymentTargets for at most 25 ids at a time', async () => {
    const before = server.calls.length;
    const { source, targets } = await fetchTargets(why, await fetchDeployment(why, 'd-MANY00001'));
    expect(source).toBe('targets');
    expect(targets.map((t) => t.id)).toEqual(Array.from({ length: 60 }, (_, k) => instanceId(k + 1)));
    const calls = server.calls.slice(before);
    expect(calls.filter((c) => c.operation === 'ListDeploymentTargets')).toHaveLength(6);
    const batches = calls
      .filter((c) => c.operation === 'BatchGetDeploymentTargets')
      .map((c) => c.body.targetIds as string[]);
    expect(batches.map((b) => b.length)).toEqual([25, 25, 10]);
    expect(batches.flat()).toEqual(targets.map((t) => t.id));
  });

  it('the instance APIs: paged, batched by 25, ARNs shortened to instance ids', async () => {
    const before = server.calls.length;
    const { source, targets } = await fetchTargets(why, await fetchDeployment(why, 'd-OLD000001'));
    expect(source).toBe('instances');
    expect(targets).toHaveLength(30);
    expect(targets[0]).toMatchObject({
      id: instanceId(1),
      arn: `arn:aws:ec2:us-east-1:123456789012:instance/${instanceId(1)}`,
      kind: 'instance',
    });
    const batches = server.calls.slice(before).filter((c) => c.operation === 'BatchGetDeploymentInstances');
    expect(batches.map((c) => (c.body.instanceIds as string[]).length)).toEqual([25, 5]);
  });

  it('a deployment that has not started: no targets, said so', async () => {
    const deployment = await fetchDeployment(why, 'd-QUEUED001');
    const { source, targets } = await fetchTargets(why, deployment);
    expect(source).toBe('none');
    const lines = renderText({ deployment, source, targets, groups: [] });
    expect(lines).toContain('no instance has started yet');
    expect(lines.at(-1)).toBe(
      'portproof why d-QUEUED001: Queued: 2 pending of 2 instances (still running: --wait follows it to the end)',
    );
  });

  it('an ECS target is reported generically: id, failed event, diagnostics', async () => {
    const deployment = await fetchDeployment(why, 'd-ECS000001');
    const { source, targets } = await fetchTargets(why, deployment);
    const lines = renderText({ deployment, source, targets, groups: groupFailures(targets) });
    expect(lines).toContain(
      '1 of 1 ECS target: AfterAllowTestTraffic failed (ScriptFailed) in CheckTestTraffic: The Lambda hook returned Failed',
    );
    expect(lines).toContain('  ECS target: prod-cluster:web');
  });
});

describe('groupFailures', () => {
  const target = (id: string, status: string, events: TargetFacts['events']): TargetFacts => ({
    id,
    kind: 'instance',
    status,
    events,
  });

  it('a failed instance with no failed event says where it stopped (agent not running)', () => {
    const pending = ['ApplicationStop', 'DownloadBundle'].map((name) => ({ name, status: 'Pending' }));
    const targets = [
      target('i-1', 'Failed', pending),
      target('i-2', 'Failed', pending),
      target('i-3', 'Succeeded', []),
    ];
    const groups = groupFailures(targets);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      outcome: 'failed',
      stuckAt: 'ApplicationStop Pending',
      targetIds: ['i-1', 'i-2'],
    });
    const deployment = {
      id: 'd-AGENT0001',
      status: 'Failed',
      overview: { pending: 0, inProgress: 0, succeeded: 1, failed: 2, skipped: 0, ready: 0 },
      statusMessages: [],
    };
    expect(renderText({ deployment, source: 'targets', targets, groups })).toContain(
      '2 of 3 instances: failed with no failed lifecycle event (stopped at ApplicationStop Pending)',
    );
  });

  it('groups by event, code, script and first message line, not by log tail', () => {
    const validateFailed = (tail: string) => [
      { name: 'ApplicationStart', status: 'Succeeded' },
      {
        name: 'ValidateService',
        status: 'Failed',
        diagnostics: {
          errorCode: 'ScriptFailed',
          scriptName: 'hooks/validate',
          message: 'exit code 1\nmore',
          logTail: tail,
        },
      },
    ];
    const groups = groupFailures([
      target('i-1', 'Failed', validateFailed('a')),
      target('i-2', 'Failed', validateFailed('b')),
      target('i-3', 'Failed', validateFailed('a')),
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      event: 'ValidateService',
      targetIds: ['i-1', 'i-2', 'i-3'],
      distinctLogTails: 2,
      representative: { id: 'i-1' },
    });
  });
});

describe('small helpers', () => {
  it('exitCodeFor: 1 only for Failed and Stopped', () => {
    expect(['Failed', 'Stopped'].map(exitCodeFor)).toEqual([1, 1]);
    expect(['Succeeded', 'Ready', 'InProgress', 'Created', 'Queued', 'Baking'].map(exitCodeFor)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
  });

  it('findVerdict: the last portproof verdict line, without the agent stream prefix', () => {
    const tail =
      '[stdout]starting\n[stderr]warn: slow\n[stdout]portproof ApplicationStart FAILED: PID 5120 exited with code 1\n[stdout]after\n';
    expect(findVerdict(tail)).toBe('portproof ApplicationStart FAILED: PID 5120 exited with code 1');
    expect(findVerdict('[stdout]nothing here')).toBeUndefined();
  });

  it('wrapList: lines of at most 100 characters, a count past the limit', () => {
    const ids = Array.from({ length: 60 }, (_, k) => instanceId(k + 1));
    const lines = wrapList('instances', ids, '  ');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines.at(-1)).toMatch(/… and 20 more \(see --json\)$/);
    expect(lines.join(' ')).toContain(instanceId(40));
    expect(lines.join(' ')).not.toContain(instanceId(41));
  });

  it('explainCodeDeployError: a request timeout reads as unreachable, naming the endpoint', () => {
    const error = Object.assign(new Error('Connection timed out after 5000 ms'), {
      name: 'TimeoutError',
      $metadata: { attempts: 3 },
    });
    expect(
      explainCodeDeployError(error, {
        operation: 'GetDeployment',
        deploymentId: 'd-A1B2C3D4E',
        endpoint: 'https://codedeploy.us-east-1.amazonaws.com/',
      }).message,
    ).toBe(
      'cannot reach CodeDeploy at https://codedeploy.us-east-1.amazonaws.com/: TimeoutError after 3 attempts (check --endpoint-url, AWS_ENDPOINT_URL_CODEDEPLOY, AWS_ENDPOINT_URL and the network)',
    );
  });
});
