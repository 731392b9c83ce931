// The facts `portproof why` reports, independent of the SDK's shapes: fetchers fill them, renderers read them.

/** Statuses after which a deployment no longer changes on its own (Ready: blue/green waiting to reroute). */
export const FinalStatuses = ['Succeeded', 'Failed', 'Stopped', 'Ready'] as const;

/** What the script CodeDeploy ran said about one lifecycle event. */
export interface Diagnostics {
  errorCode?: string;
  scriptName?: string;
  message?: string;
  logTail?: string;
}

/** One lifecycle event on one target (ApplicationStop … ValidateService, or an ECS/Lambda hook). */
export interface EventFacts {
  name: string;
  status: string;
  startTime?: Date;
  endTime?: Date;
  diagnostics?: Diagnostics;
}

/** Which of the target shapes the facts came from; instances also come from the older instance APIs. */
export type TargetKind = 'instance' | 'ecs' | 'lambda' | 'cloudformation' | 'unknown';

/** One instance (or ECS service, Lambda function, CloudFormation resource) the deployment touched. */
export interface TargetFacts {
  id: string;
  arn?: string;
  kind: TargetKind;
  status: string;
  /** Blue or Green in a blue/green deployment. */
  label?: string;
  lastUpdatedAt?: Date;
  events: EventFacts[];
}

/** The console's per-status instance counts. */
export interface Overview {
  pending: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  skipped: number;
  ready: number;
}

/** The deployment as GetDeployment describes it. */
export interface DeploymentFacts {
  id: string;
  status: string;
  application?: string;
  group?: string;
  config?: string;
  creator?: string;
  description?: string;
  computePlatform?: string;
  deploymentType?: string;
  revision?: string;
  createTime?: Date;
  startTime?: Date;
  completeTime?: Date;
  error?: { code?: string; message?: string };
  overview: Overview;
  rollback?: { deploymentId?: string; triggeredBy?: string; message?: string };
  statusMessages: string[];
}

/** Where the per-target facts came from: the target APIs, the older instance APIs, or nowhere (not started). */
export type TargetSource = 'targets' | 'instances' | 'none';

/** Targets that failed (or were skipped) the same way, with one of them shown in full. */
export interface FailureGroup {
  outcome: 'failed' | 'skipped';
  /** The failed lifecycle event, or the one whose diagnostics explain a skip. */
  event?: string;
  errorCode?: string;
  scriptName?: string;
  message?: string;
  /** A failed target with no Failed event: the first event that never finished (e.g. "DownloadBundle Pending"). */
  stuckAt?: string;
  targetIds: string[];
  representative: TargetFacts;
  representativeEvent?: EventFacts;
  /** How many different log tails the group's members have (1: all identical). */
  distinctLogTails: number;
  /** The last `portproof … FAILED/OK` line in the representative log tail: the hook's own verdict. */
  verdict?: string;
}

/** Everything one `portproof why` run found. */
export interface WhyReport {
  deployment: DeploymentFacts;
  source: TargetSource;
  targets: TargetFacts[];
  groups: FailureGroup[];
}
