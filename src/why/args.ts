// `portproof why` flags and the env tunables for --wait; every mistake is a one-line usage error (exit 2).
import { parseArgs } from 'node:util';
import { WhyError } from './errors.ts';
import { DefaultStatusPollMs, DefaultProgressMs } from './wait.ts';

/** What one `portproof why` run was asked to do. */
export interface WhyOptions {
  deploymentId: string;
  wait: boolean;
  json: boolean;
  region: string | undefined;
  endpointUrl: string | undefined;
  pollMs: number;
  progressMs: number;
}

/** The usage text for --help. */
export const WhyUsage = `usage: portproof why DEPLOYMENT_ID [--wait] [--json] [--region R] [--endpoint-url URL]

What the CodeDeploy console shows about a deployment, in the terminal: status, error, counts, and for each
failed or skipped instance the failed lifecycle event, script, error code and log tail; identical failures
across a fleet are shown once.

  --wait              poll until the deployment is final (a progress line at most every 5 s), then report
  --json              one JSON document with the same facts
  --region R          AWS region (default: AWS_REGION, then the profile's)
  --endpoint-url URL  CodeDeploy endpoint (default: AWS_ENDPOINT_URL_CODEDEPLOY, then AWS_ENDPOINT_URL)

exit status: 0 succeeded (or still running, without --wait), 1 the deployment failed or stopped, 2 usage,
3 could not ask CodeDeploy (credentials, region, network, permissions, no such deployment)`;

/** Deployment ids look like d-A1B2C3D4E: "d-" and nine upper-case letters or digits. */
export const DeploymentIdPattern = /^d-[A-Z0-9]{9}$/;

/** Parse argv (after `why`); undefined means --help was asked for. */
export function parseWhyArgs(argv: string[], env: NodeJS.ProcessEnv): WhyOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        wait: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        region: { type: 'string' },
        'endpoint-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new WhyError(`${(error as Error).message.split(/\n|\. /)[0]} (see portproof why --help)`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 1)
    throw new WhyError('expected exactly one DEPLOYMENT_ID, like d-A1B2C3D4E (see portproof why --help)', 2);
  const deploymentId = positionals[0] ?? '';
  if (!DeploymentIdPattern.test(deploymentId)) {
    throw new WhyError(
      `"${deploymentId}" is not a deployment id: expected d- and 9 upper-case letters or digits, like d-A1B2C3D4E`,
      2,
    );
  }
  const endpointUrl = values['endpoint-url'];
  if (endpointUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(endpointUrl)) {
    throw new WhyError(`--endpoint-url ${endpointUrl}: expected an http:// or https:// URL`, 2);
  }
  if (values.region !== undefined && !/^[a-z0-9-]+$/.test(values.region)) {
    throw new WhyError(`--region ${values.region}: expected a region name like us-east-1`, 2);
  }
  return {
    deploymentId,
    wait: values.wait,
    json: values.json,
    region: values.region,
    endpointUrl,
    pollMs: readMs(env, 'PORTPROOF_WHY_POLL_MS', DefaultStatusPollMs),
    progressMs: readMs(env, 'PORTPROOF_WHY_PROGRESS_MS', DefaultProgressMs),
  };
}

function readMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1) throw new WhyError(`${name}=${raw}: expected a whole number of milliseconds`, 2);
  return ms;
}
