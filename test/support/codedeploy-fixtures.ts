// Realistic CodeDeploy answers for the local server: in-place EC2 lifecycle events, diagnostics as the agent
// reports them, instance targets (new API) and instance summaries (old API).
import type { Json } from './codedeploy-server.ts';

/** The EC2/on-premises in-place events in the order the agent runs them. */
export const InPlaceEvents = [
  'ApplicationStop',
  'DownloadBundle',
  'BeforeInstall',
  'Install',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
];

/** A fixed clock so rendered timings are stable. */
export const T0 = new Date('2025-03-01T10:00:00Z');

/** `T0 + seconds`. */
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

/** Diagnostics as the agent reports a failed script. */
export function scriptFailed(script: string, logLines: string[], exitCode = 1): Json {
  return {
    errorCode: 'ScriptFailed',
    scriptName: script,
    message: `Script at specified location: ${script} run as user root failed with exit code ${exitCode}`,
    logTail: `${logLines.map((l) => `[stdout]${l}`).join('\n')}\n`,
  };
}

/** Events up to `failAt` succeeded, `failAt` failed with `diagnostics`, the rest skipped; no failAt: all succeeded. */
export function lifecycleEvents(
  options: { failAt?: string; diagnostics?: Json; allSkipped?: boolean; allPending?: boolean } = {},
): Json[] {
  let seenFailure = false;
  return InPlaceEvents.map((name, i) => {
    const base: Json = { lifecycleEventName: name };
    if (options.allSkipped) return { ...base, status: 'Skipped' };
    if (options.allPending) return { ...base, status: 'Pending' };
    if (seenFailure) return { ...base, status: 'Skipped' };
    const times = { startTime: at(10 + i * 10), endTime: at(10 + i * 10 + (name === options.failAt ? 62 : 3)) };
    if (name === options.failAt) {
      seenFailure = true;
      return { ...base, ...times, status: 'Failed', diagnostics: options.diagnostics ?? {} };
    }
    return {
      ...base,
      ...times,
      status: 'Succeeded',
      diagnostics: { errorCode: 'Success', scriptName: '', message: 'Succeeded', logTail: '' },
    };
  });
}

/** A DeploymentTarget with an instanceTarget, as BatchGetDeploymentTargets returns it. */
export function instanceTarget(deploymentId: string, instanceId: string, status: string, events: Json[]): Json {
  return {
    deploymentTargetType: 'InstanceTarget',
    instanceTarget: {
      deploymentId,
      targetId: instanceId,
      targetArn: `arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`,
      status,
      lastUpdatedAt: at(200),
      lifecycleEvents: events,
    },
  };
}

/** An InstanceSummary as BatchGetDeploymentInstances returns it: the id is the instance ARN. */
export function instanceSummary(deploymentId: string, instanceId: string, status: string, events: Json[]): Json {
  return {
    deploymentId,
    instanceId: `arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`,
    status,
    lastUpdatedAt: at(200),
    lifecycleEvents: events,
  };
}

/** deploymentInfo for an in-place EC2 deployment; `overrides` wins. */
export function deploymentInfo(overrides: Json = {}): Json {
  return {
    applicationName: 'myapp',
    deploymentGroupName: 'prod-fleet',
    deploymentConfigName: 'CodeDeployDefault.HalfAtATime',
    status: 'Failed',
    creator: 'user',
    createTime: T0,
    startTime: at(2),
    completeTime: at(400),
    computePlatform: 'Server',
    deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
    revision: { revisionType: 'S3', s3Location: { bucket: 'releases', key: 'myapp-1.4.2.zip', bundleType: 'zip' } },
    errorInformation: {
      code: 'HEALTH_CONSTRAINTS',
      message: 'The overall deployment failed because too many individual instances failed deployment.',
    },
    ...overrides,
  };
}

/** `i-0000000000000000N`-style ids, distinct and sortable. */
export function instanceId(n: number): string {
  return `i-0${String(n).padStart(16, '0')}`;
}

/** The log tail portproof's ValidateService leaves when another process holds the port. */
export function validateLogLines(pid: number): string[] {
  return [
    'checking port 8082 listeners',
    `port 8082: listener owned by PID 4711 (java -jar app-v1.jar), not by the new PID ${pid}`,
    `portproof ValidateService FAILED: port 8082 is held by PID 4711 (java -jar app-v1.jar, started 09:14:55), not by the new PID ${pid}`,
  ];
}
