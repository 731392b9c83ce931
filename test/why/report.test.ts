// `portproof why` reports through the real SDK against a local CodeDeploy: one instance, a fleet, old deployments, JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceId } from '../support/codedeploy-fixtures.ts';
import { startCodeDeployServer, type CodeDeployServer } from '../support/codedeploy-server.ts';
import { linesOf, runWhyCli, whyEnv } from '../support/why-cli.ts';
import { fleet, legacy, overview, singleFailure, succeeded } from './scenarios.ts';
import { deploymentInfo } from '../support/codedeploy-fixtures.ts';

let server: CodeDeployServer;

beforeAll(async () => {
  server = await startCodeDeployServer({ pageSize: 4 });
  server.addDeployment('d-SINGLE001', singleFailure('d-SINGLE001'));
  server.addDeployment('d-FLEET0001', fleet('d-FLEET0001'));
  server.addDeployment('d-LEGACY001', legacy('d-LEGACY001', 3, 'error'));
  server.addDeployment('d-LEGACY002', legacy('d-LEGACY002', 3, 'empty'));
  server.addDeployment('d-OKAY00001', succeeded('d-OKAY00001', 2));
  server.addDeployment('d-RUNNING01', {
    ...succeeded('d-RUNNING01', 2),
    info: deploymentInfo({
      status: 'InProgress',
      completeTime: undefined,
      errorInformation: undefined,
      deploymentOverview: overview({ InProgress: 1, Pending: 1 }),
    }),
  });
});
afterAll(() => server.close());

function why(...args: string[]) {
  return runWhyCli([...args, '--endpoint-url', server.url], whyEnv());
}

describe('portproof why: a failed in-place deployment with one instance', () => {
  it('prints the deployment, the failed event, script, error code, message and the log tail as is; exit 1', async () => {
    const before = server.calls.length;
    const r = await why('d-SINGLE001');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = linesOf(r.stdout);
    expect(out[0]).toBe('deployment d-SINGLE001: Failed');
    expect(out).toContain('  application myapp, group prod-fleet, config CodeDeployDefault.OneAtATime (IN_PLACE)');
    expect(out).toContain(
      '  created 2025-03-01 10:00:00Z by user; started 10:00:02Z; completed 10:06:40Z after 6m 38s',
    );
    expect(out).toContain(
      '  error: HEALTH_CONSTRAINTS: The overall deployment failed because too many individual instances failed deployment.',
    );
    expect(out).toContain('  instances: 0 succeeded, 1 failed, 0 skipped, 0 in progress, 0 pending');
    expect(out).toContain(
      '1 of 1 instance: ValidateService failed (ScriptFailed) in hooks/validate: Script at specified location: hooks/validate run as user root failed with exit code 1',
    );
    expect(out).toContain(`  instance: ${instanceId(1)}`);
    expect(out).toContain(`  log tail of ${instanceId(1)} (ValidateService; 1m 02s):`);
    // The tail exactly as the agent reported it, [stdout] prefixes included, indented four spaces.
    expect(out).toContain('    [stdout]checking port 8082 listeners');
    expect(out).toContain(
      '    [stdout]portproof ValidateService FAILED: port 8082 is held by PID 4711 (java -jar app-v1.jar, started 09:14:55), not by the new PID 5120',
    );
    expect(out).toContain(
      '  verdict: portproof ValidateService FAILED: port 8082 is held by PID 4711 (java -jar app-v1.jar, started 09:14:55), not by the new PID 5120',
    );
    expect(out.at(-1)).toBe(
      'portproof why d-SINGLE001: Failed: 1 failed of 1 instance; ValidateService failed (ScriptFailed) in hooks/validate on 1',
    );
    // What the SDK sent: the id, signed with the environment's key for us-east-1 and the codedeploy service.
    const calls = server.calls.slice(before);
    expect(calls.map((c) => c.operation)).toEqual([
      'GetDeployment',
      'ListDeploymentTargets',
      'BatchGetDeploymentTargets',
    ]);
    expect(calls[0]).toMatchObject({
      body: { deploymentId: 'd-SINGLE001' },
      accessKeyId: 'AKIDPORTPROOFTEST',
      region: 'us-east-1',
      service: 'codedeploy',
    });
    expect(calls[2]?.body).toEqual({ deploymentId: 'd-SINGLE001', targetIds: [instanceId(1)] });
  });
});

describe('portproof why: a fleet', () => {
  it('groups 7 identical failures with one log tail and lists the 3 others separately', async () => {
    const before = server.calls.length;
    const r = await why('d-FLEET0001');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = linesOf(r.stdout);
    const headers = out.filter((l) => /^\d+ of 10 instances: /.test(l));
    expect(headers).toEqual([
      '7 of 10 instances: ValidateService failed (ScriptFailed) in hooks/validate: Script at specified location: hooks/validate run as user root failed with exit code 1',
      '1 of 10 instances: ApplicationStart failed (ScriptFailed) in hooks/start: Script at specified location: hooks/start run as user root failed with exit code 1',
      '1 of 10 instances: ValidateService failed (ScriptTimedOut) in hooks/validate: Script at specified location: hooks/validate failed to complete in 300 seconds',
      '1 of 10 instances: skipped (no lifecycle event ran)',
    ]);
    // One representative tail for the seven, noting that their tails are not all the same.
    expect(out.filter((l) => l.startsWith('  log tail of '))).toEqual([
      `  log tail of ${instanceId(1)} (ValidateService; 1m 02s; 2 different tails among 7):`,
      `  log tail of ${instanceId(8)} (ApplicationStart; 1m 02s):`,
      `  log tail of ${instanceId(9)} (ValidateService; 1m 02s):`,
    ]);
    expect(out.filter((l) => l.includes('[stdout]checking port 8082 listeners'))).toHaveLength(1);
    expect(out).toContain('    (empty)');
    // The seven ids, compactly: wrapped lines, none over 100 characters.
    const groupStart = out.indexOf(headers[0]!);
    const idLines = out.slice(groupStart + 1, groupStart + 3);
    expect(idLines[0]).toMatch(/^ {2}instances: i-/);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(idLines.join(' ')).toContain(instanceId(n));
    for (const line of idLines) expect(line.length).toBeLessThanOrEqual(100);
    expect(out).toContain(`  instance: ${instanceId(10)}`);
    expect(out.at(-1)).toBe(
      'portproof why d-FLEET0001: Failed: 9 failed, 1 skipped of 10 instances; ValidateService failed (ScriptFailed) in hooks/validate on 7',
    );
    // Pages of 4 followed through nextToken, then one batch of all ten.
    const calls = server.calls.slice(before);
    const lists = calls.filter((c) => c.operation === 'ListDeploymentTargets');
    expect(lists).toHaveLength(3);
    expect(lists[0]?.body.nextToken).toBeUndefined();
    expect(lists[1]?.body.nextToken).toEqual(expect.any(String));
    expect(
      calls
        .filter((c) => c.operation === 'BatchGetDeploymentTargets')
        .map((c) => (c.body.targetIds as string[]).length),
    ).toEqual([10]);
  });

  it('--json: one document with the same facts', async () => {
    const r = await why('d-FLEET0001', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    expect(Object.keys(doc)).toEqual(['deployment', 'source', 'exitCode', 'failures', 'targets']);
    expect(doc.deployment).toMatchObject({
      id: 'd-FLEET0001',
      status: 'Failed',
      application: 'myapp',
      group: 'prod-fleet',
      creator: 'user',
      createTime: '2025-03-01T10:00:00.000Z',
      completeTime: '2025-03-01T10:06:40.000Z',
      durationMs: 398_000,
      error: { code: 'HEALTH_CONSTRAINTS' },
      overview: { failed: 9, skipped: 1, succeeded: 0, inProgress: 0, pending: 0, ready: 0 },
    });
    expect(doc.source).toBe('targets');
    expect(doc.exitCode).toBe(1);
    expect(doc.failures).toHaveLength(4);
    expect(doc.failures[0]).toMatchObject({
      outcome: 'failed',
      count: 7,
      of: 10,
      event: 'ValidateService',
      errorCode: 'ScriptFailed',
      scriptName: 'hooks/validate',
      message: 'Script at specified location: hooks/validate run as user root failed with exit code 1',
      representative: instanceId(1),
      distinctLogTails: 2,
      targetIds: [1, 2, 3, 4, 5, 6, 7].map(instanceId),
    });
    expect(doc.failures[0].logTail).toContain('[stdout]portproof ValidateService FAILED');
    expect(doc.failures[3]).toMatchObject({ outcome: 'skipped', count: 1, targetIds: [instanceId(10)] });
    expect(doc.targets).toHaveLength(10);
    expect(doc.targets[0]).toMatchObject({
      id: instanceId(1),
      kind: 'instance',
      status: 'Failed',
      arn: expect.stringContaining(':instance/'),
    });
    expect(doc.targets[0].events.find((e: any) => e.name === 'ValidateService')).toMatchObject({
      status: 'Failed',
      diagnostics: { errorCode: 'ScriptFailed' },
    });
  });
});

describe('portproof why: a deployment that predates deployment targets', () => {
  it('falls back to the instance APIs when ListDeploymentTargets answers InvalidDeploymentInstanceTypeException', async () => {
    const before = server.calls.length;
    const r = await why('d-LEGACY001');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = linesOf(r.stdout);
    expect(out).toContain(
      '  (per-instance facts from the older instance APIs: this deployment predates deployment targets)',
    );
    expect(out).toContain(
      '1 of 3 instances: AfterInstall failed (ScriptFailed) in scripts/after_install.sh: Script at specified location: scripts/after_install.sh run as user root failed with exit code 1',
    );
    // The summary's ARN is shortened to the instance id.
    expect(out).toContain(`  instance: ${instanceId(1)}`);
    expect(out).toContain('    [stdout]chown: invalid user: app');
    const ops = server.calls.slice(before).map((c) => c.operation);
    expect(ops).toEqual([
      'GetDeployment',
      'ListDeploymentTargets',
      'ListDeploymentInstances',
      'BatchGetDeploymentInstances',
    ]);
  });

  it('falls back too when ListDeploymentTargets lists nothing for a deployment that counts instances', async () => {
    const before = server.calls.length;
    const r = await why('d-LEGACY002', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    expect(doc.source).toBe('instances');
    expect(doc.targets.map((t: any) => t.id)).toEqual([1, 2, 3].map(instanceId));
    expect(server.calls.slice(before).map((c) => c.operation)).toContain('BatchGetDeploymentInstances');
  });
});

describe('portproof why: deployments that did not fail', () => {
  it('a succeeded deployment: exit 0, nothing failed', async () => {
    const r = await why('d-OKAY00001');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = linesOf(r.stdout);
    expect(out).toContain('no failed or skipped instances');
    expect(out.at(-1)).toBe('portproof why d-OKAY00001: Succeeded: 2 succeeded of 2 instances');
  });

  it('an in-progress deployment without --wait: a snapshot, exit 0', async () => {
    const r = await why('d-RUNNING01');
    expect(r.code).toBe(0);
    expect(linesOf(r.stdout).at(-1)).toBe(
      'portproof why d-RUNNING01: InProgress: 1 in progress, 1 pending of 2 instances (still running: --wait follows it to the end)',
    );
  });
});
