// Where requests go: AWS_ENDPOINT_URL_CODEDEPLOY and AWS_ENDPOINT_URL (honoured by SDK 3.1133 itself), --endpoint-url,
// and which wins; --region over AWS_REGION. A closed loopback port stands for "the wrong place".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/lab/ports.ts';
import { startCodeDeployServer, type CodeDeployServer } from '../support/codedeploy-server.ts';
import { linesOf, runWhyCli, whyEnv } from '../support/why-cli.ts';
import { singleFailure } from './scenarios.ts';

let server: CodeDeployServer;
let nowhere: string;
const id = 'd-ENDPOINT1';

beforeAll(async () => {
  server = await startCodeDeployServer();
  server.addDeployment(id, singleFailure(id));
  nowhere = `http://127.0.0.1:${await findFreePort()}`;
});
afterAll(() => server.close());

/** Run and check the report came from the local server: its summary line, and GetDeployment received. */
async function expectReached(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const before = server.callsTo('GetDeployment').length;
  const r = await runWhyCli([id, ...args], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(1);
  expect(linesOf(r.stdout).at(-1)).toMatch(/^portproof why d-ENDPOINT1: Failed/);
  expect(server.callsTo('GetDeployment').length).toBe(before + 1);
}

describe('portproof why: endpoint overrides', () => {
  it('AWS_ENDPOINT_URL_CODEDEPLOY reaches the server', async () => {
    await expectReached([], whyEnv({ AWS_ENDPOINT_URL_CODEDEPLOY: server.url }));
  });

  it('AWS_ENDPOINT_URL reaches the server', async () => {
    await expectReached([], whyEnv({ AWS_ENDPOINT_URL: server.url }));
  });

  it('--endpoint-url reaches the server', async () => {
    await expectReached(['--endpoint-url', server.url], whyEnv());
  });

  it('AWS_ENDPOINT_URL_CODEDEPLOY wins over AWS_ENDPOINT_URL', async () => {
    await expectReached([], whyEnv({ AWS_ENDPOINT_URL_CODEDEPLOY: server.url, AWS_ENDPOINT_URL: nowhere }));
  });

  it('--endpoint-url wins over both variables', async () => {
    await expectReached(
      ['--endpoint-url', server.url],
      whyEnv({ AWS_ENDPOINT_URL_CODEDEPLOY: nowhere, AWS_ENDPOINT_URL: nowhere }),
    );
  });
});

describe('portproof why: region', () => {
  it('--region wins over AWS_REGION and signs for that region', async () => {
    const before = server.calls.length;
    await expectReached(['--region', 'eu-west-1', '--endpoint-url', server.url], whyEnv({ AWS_REGION: 'us-east-1' }));
    expect(server.calls.slice(before).every((c) => c.region === 'eu-west-1')).toBe(true);
  });

  it('AWS_REGION is used without --region', async () => {
    const before = server.calls.length;
    await expectReached(['--endpoint-url', server.url], whyEnv({ AWS_REGION: 'ap-southeast-2' }));
    expect(server.calls.slice(before).every((c) => c.region === 'ap-southeast-2')).toBe(true);
  });
});
