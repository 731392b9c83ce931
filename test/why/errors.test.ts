// Every expected failure is one line on stderr, no stack trace, with the promised exit code.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/lab/ports.ts';
import { startCodeDeployServer, type CodeDeployServer } from '../support/codedeploy-server.ts';
import { linesOf, runWhyCli, whyEnv, type CliResult } from '../support/why-cli.ts';
import { hasStackTrace, singleFailure } from './scenarios.ts';

let server: CodeDeployServer;
const id = 'd-ERRORS001';

beforeAll(async () => {
  server = await startCodeDeployServer();
  server.addDeployment(id, singleFailure(id));
});
afterAll(() => server.close());

let before = 0;
beforeEach(() => {
  server.clearFaults();
  before = server.calls.length;
});

function why(args: string[], env = whyEnv()) {
  return runWhyCli([...args, '--endpoint-url', server.url], env);
}

/** Exactly one stderr line starting `portproof why: `, nothing on stdout, no stack; returns that line. */
function oneLineError(r: CliResult, exitCode: number): string {
  expect(r.stdout).toBe('');
  expect(r.code).toBe(exitCode);
  const lines = linesOf(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^portproof why: /);
  expect(hasStackTrace(r.stderr)).toBe(false);
  return lines[0]!;
}

describe('portproof why: CodeDeploy says no', () => {
  it('throttling that outlasts the SDK retries: one line, exit 3, after a few attempts only', async () => {
    server.fault({ type: 'ThrottlingException', message: 'Rate exceeded', operation: 'GetDeployment' });
    const line = oneLineError(await why([id]), 3);
    expect(line).toBe(
      `portproof why: CodeDeploy throttled GetDeployment for ${id} (ThrottlingException) after 3 attempts; wait a minute and run it again`,
    );
    expect(server.calls.slice(before).filter((c) => c.operation === 'GetDeployment')).toHaveLength(3);
  });

  it('throttling of a later call names that call', async () => {
    server.fault({ type: 'ThrottlingException', message: 'Rate exceeded', operation: 'BatchGetDeploymentTargets' });
    expect(oneLineError(await why([id]), 3)).toContain('CodeDeploy throttled BatchGetDeploymentTargets');
  });

  it('access denied: names the denied action and every permission needed', async () => {
    const aws = `User: arn:aws:iam::123456789012:user/ci is not authorized to perform: codedeploy:ListDeploymentTargets on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:myapp/prod-fleet`;
    server.fault({ type: 'AccessDeniedException', message: aws, operation: 'ListDeploymentTargets' });
    const line = oneLineError(await why([id]), 3);
    expect(line).toMatch(
      /^portproof why: access denied to codedeploy:ListDeploymentTargets for d-ERRORS001: the credentials or role in use need /,
    );
    for (const action of [
      'GetDeployment',
      'ListDeploymentTargets',
      'BatchGetDeploymentTargets',
      'ListDeploymentInstances',
      'BatchGetDeploymentInstances',
    ]) {
      expect(line).toContain(`codedeploy:${action}`);
    }
    expect(line).toContain(`(AWS: ${aws})`);
    // Not a retryable error: asked once.
    expect(server.calls.slice(before).filter((c) => c.operation === 'ListDeploymentTargets')).toHaveLength(1);
  });

  it('a deployment that does not exist: one line naming the region, exit 3', async () => {
    const line = oneLineError(await why(['d-NOSUCH001']), 3);
    expect(line).toBe(
      'portproof why: deployment d-NOSUCH001 does not exist in region us-east-1: check --region / AWS_REGION and the account',
    );
  });

  it('a service error nobody expected: one line with its name and message', async () => {
    server.fault({
      type: 'InternalFailure',
      message: 'We encountered an internal error.\nPlease try again.',
      operation: 'GetDeployment',
      status: 400,
    });
    expect(oneLineError(await why([id]), 3)).toBe(
      `portproof why: CodeDeploy GetDeployment for ${id} failed: InternalFailure: We encountered an internal error.`,
    );
  });
});

describe('portproof why: usage', () => {
  it.each([
    ['d-123', 'too short'],
    ['d-abcdefghi', 'lower case'],
    ['D-ABCDEFGHI', 'wrong prefix'],
    ['arn:aws:codedeploy:d-ABCDEFGHI', 'not an id'],
  ])('invalid id %s (%s): exit 2, nothing sent', async (bad) => {
    const line = oneLineError(await why([bad]), 2);
    expect(line).toBe(
      `portproof why: "${bad}" is not a deployment id: expected d- and 9 upper-case letters or digits, like d-A1B2C3D4E`,
    );
    expect(server.calls.length).toBe(before);
  });

  it('no id, two ids, an unknown flag, a bad endpoint URL: exit 2', async () => {
    expect(oneLineError(await runWhyCli([], whyEnv()), 2)).toContain('expected exactly one DEPLOYMENT_ID');
    expect(oneLineError(await runWhyCli([id, 'd-ABCDEFGHI'], whyEnv()), 2)).toContain(
      'expected exactly one DEPLOYMENT_ID',
    );
    expect(oneLineError(await runWhyCli([id, '--verbose'], whyEnv()), 2)).toContain("Unknown option '--verbose'");
    expect(oneLineError(await runWhyCli([id, '--endpoint-url', 'localhost:1'], whyEnv()), 2)).toContain(
      'expected an http:// or https:// URL',
    );
  });

  it('--help prints the usage, exit 0', async () => {
    const r = await runWhyCli(['--help'], whyEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: portproof why DEPLOYMENT_ID \[--wait\] \[--json\]/);
  });
});

describe('portproof why: the environment', () => {
  it('no credentials anywhere: one line, exit 3, nothing sent', async () => {
    const env = whyEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    const line = oneLineError(await why([id], env), 3);
    expect(line).toMatch(
      /^portproof why: no AWS credentials found \(.+\): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
    );
    expect(server.calls.length).toBe(before);
  });

  it('no region anywhere: one line, exit 3', async () => {
    const line = oneLineError(await why([id], whyEnv({ AWS_REGION: undefined })), 3);
    expect(line).toBe('portproof why: no AWS region: pass --region or set AWS_REGION');
  });

  it('an endpoint nobody listens on: one line naming it, exit 3', async () => {
    const port = await findFreePort();
    const r = await runWhyCli([id, '--endpoint-url', `http://127.0.0.1:${port}`], whyEnv());
    const line = oneLineError(r, 3);
    expect(line).toBe(
      `portproof why: cannot reach CodeDeploy at http://127.0.0.1:${port}/: ECONNREFUSED after 3 attempts (check --endpoint-url, AWS_ENDPOINT_URL_CODEDEPLOY, AWS_ENDPOINT_URL and the network)`,
    );
  });
});
