// SDK shapes → portproof's facts. Every SDK field is optional; absent ones stay absent, never invented.
import type {
  DeploymentInfo,
  DeploymentTarget,
  InstanceSummary,
  LifecycleEvent,
  RevisionLocation,
} from '@aws-sdk/client-codedeploy';
import type { DeploymentFacts, EventFacts, TargetFacts } from './types.ts';

/** GetDeployment's deploymentInfo as DeploymentFacts. */
export function normalizeDeployment(info: DeploymentInfo, requestedId: string): DeploymentFacts {
  const o = info.deploymentOverview ?? {};
  const facts: DeploymentFacts = {
    id: info.deploymentId ?? requestedId,
    status: info.status ?? 'Unknown',
    overview: {
      pending: o.Pending ?? 0,
      inProgress: o.InProgress ?? 0,
      succeeded: o.Succeeded ?? 0,
      failed: o.Failed ?? 0,
      skipped: o.Skipped ?? 0,
      ready: o.Ready ?? 0,
    },
    statusMessages: info.deploymentStatusMessages ?? [],
  };
  assignDefined(facts, {
    application: info.applicationName,
    group: info.deploymentGroupName,
    config: info.deploymentConfigName,
    creator: info.creator,
    description: info.description,
    computePlatform: info.computePlatform,
    deploymentType: info.deploymentStyle?.deploymentType,
    revision: describeRevision(info.revision),
    createTime: info.createTime,
    startTime: info.startTime,
    completeTime: info.completeTime,
  });
  if (info.errorInformation !== undefined) {
    facts.error = withoutUndefined({ code: info.errorInformation.code, message: info.errorInformation.message });
  }
  const r = info.rollbackInfo;
  if (r !== undefined) {
    facts.rollback = withoutUndefined({
      deploymentId: r.rollbackDeploymentId,
      triggeredBy: r.rollbackTriggeringDeploymentId,
      message: r.rollbackMessage,
    });
  }
  return facts;
}

/** One BatchGetDeploymentTargets entry: instanceTarget in full, the other shapes by their common fields. */
export function normalizeTarget(target: DeploymentTarget, fallbackId: string): TargetFacts {
  if (target.instanceTarget !== undefined) {
    const t = target.instanceTarget;
    return makeTarget('instance', t.targetId ?? fallbackId, t.status, t.lifecycleEvents, {
      arn: t.targetArn,
      label: t.instanceLabel,
      lastUpdatedAt: t.lastUpdatedAt,
    });
  }
  if (target.ecsTarget !== undefined) {
    const t = target.ecsTarget;
    return makeTarget('ecs', t.targetId ?? fallbackId, t.status, t.lifecycleEvents, {
      arn: t.targetArn,
      lastUpdatedAt: t.lastUpdatedAt,
    });
  }
  if (target.lambdaTarget !== undefined) {
    const t = target.lambdaTarget;
    return makeTarget('lambda', t.targetId ?? fallbackId, t.status, t.lifecycleEvents, {
      arn: t.targetArn,
      lastUpdatedAt: t.lastUpdatedAt,
    });
  }
  if (target.cloudFormationTarget !== undefined) {
    const t = target.cloudFormationTarget;
    return makeTarget('cloudformation', t.targetId ?? fallbackId, t.status, t.lifecycleEvents, {
      lastUpdatedAt: t.lastUpdatedAt,
    });
  }
  // A target type newer than this SDK: report its id so it is at least counted.
  return makeTarget('unknown', fallbackId, undefined, undefined, {});
}

/** One BatchGetDeploymentInstances entry (the pre-target API); its instanceId may be an ARN. */
export function normalizeInstance(summary: InstanceSummary, fallbackId: string): TargetFacts {
  const raw = summary.instanceId ?? fallbackId;
  const arn = raw.startsWith('arn:') ? raw : undefined;
  return makeTarget('instance', shortenInstanceId(raw), summary.status, summary.lifecycleEvents, {
    arn,
    label: summary.instanceType,
    lastUpdatedAt: summary.lastUpdatedAt,
  });
}

/** `arn:aws:ec2:us-east-1:123:instance/i-0abc` → `i-0abc`; anything else unchanged. */
export function shortenInstanceId(id: string): string {
  const marker = id.startsWith('arn:') ? id.lastIndexOf('instance/') : -1;
  return marker < 0 ? id : id.slice(marker + 'instance/'.length);
}

/** One lifecycle event with the diagnostics the console shows. */
export function normalizeEvent(event: LifecycleEvent): EventFacts {
  const facts: EventFacts = { name: event.lifecycleEventName ?? '(unnamed event)', status: event.status ?? 'Unknown' };
  assignDefined(facts, { startTime: event.startTime, endTime: event.endTime });
  const d = event.diagnostics;
  if (d !== undefined) {
    facts.diagnostics = withoutUndefined({
      errorCode: d.errorCode,
      scriptName: d.scriptName,
      message: d.message,
      logTail: d.logTail,
    });
  }
  return facts;
}

function makeTarget(
  kind: TargetFacts['kind'],
  id: string,
  status: string | undefined,
  events: LifecycleEvent[] | undefined,
  extra: { arn?: string | undefined; label?: string | undefined; lastUpdatedAt?: Date | undefined },
): TargetFacts {
  const target: TargetFacts = { id, kind, status: status ?? 'Unknown', events: (events ?? []).map(normalizeEvent) };
  assignDefined(target, extra);
  return target;
}

function describeRevision(revision: RevisionLocation | undefined): string | undefined {
  if (revision === undefined) return undefined;
  const s3 = revision.s3Location;
  if (s3?.bucket !== undefined)
    return `s3://${s3.bucket}/${s3.key ?? ''}${s3.version === undefined ? '' : ` (version ${s3.version})`}`;
  const gh = revision.gitHubLocation;
  if (gh?.repository !== undefined) return `github:${gh.repository}@${gh.commitId ?? '?'}`;
  return revision.revisionType;
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function assignDefined<T extends object>(target: T, values: { [K in keyof T]?: T[K] | undefined }): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
}
