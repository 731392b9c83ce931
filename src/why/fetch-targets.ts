// Per-target facts: the target APIs first, the older instance APIs for deployments that predate targets.
import {
  BatchGetDeploymentInstancesCommand,
  BatchGetDeploymentTargetsCommand,
  ListDeploymentInstancesCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { callCodeDeploy } from './call.ts';
import type { WhyClient } from './client.ts';
import { normalizeInstance, normalizeTarget, shortenInstanceId } from './normalize.ts';
import type { DeploymentFacts, TargetFacts, TargetSource } from './types.ts';

/** The most ids BatchGetDeploymentTargets and BatchGetDeploymentInstances accept in one call. */
export const BatchSize = 25;

/**
 * When to ask the older (deprecated) instance APIs instead. AWS documents the target APIs as working with every
 * compute platform and documents no answer for a deployment that predates them, so both plausible answers count:
 * an error about the deployment's kind (not about the request), below, or an empty list while GetDeployment counts
 * instances (in fetchTargets). Access denied, throttling and the like are never a reason to fall back.
 */
const LegacySignals = new Set([
  'InvalidDeploymentInstanceTypeException',
  'InvalidComputePlatformException',
  'UnsupportedActionForDeploymentTypeException',
]);

/** Every target of a deployment, in the order CodeDeploy lists them, and which API answered. */
export async function fetchTargets(
  why: WhyClient,
  deployment: DeploymentFacts,
): Promise<{ source: TargetSource; targets: TargetFacts[] }> {
  let ids: string[];
  try {
    ids = await listAll(why, 'ListDeploymentTargets', deployment.id, async (nextToken) => {
      const out = await why.client.send(new ListDeploymentTargetsCommand({ deploymentId: deployment.id, nextToken }));
      return { ids: out.targetIds ?? [], nextToken: out.nextToken };
    });
  } catch (error) {
    // Nothing has run yet, so there is nothing per target to explain.
    if (causeName(error) === 'DeploymentNotStartedException') return { source: 'none', targets: [] };
    if (!LegacySignals.has(causeName(error))) throw error;
    return fetchFromInstanceApis(why, deployment.id);
  }
  // An EC2/on-premises deployment that counts instances but lists no targets predates the target APIs.
  if (ids.length === 0 && countTargets(deployment) > 0 && (deployment.computePlatform ?? 'Server') === 'Server') {
    return fetchFromInstanceApis(why, deployment.id);
  }
  const targets = await batchGet(ids, async (batch) => {
    const out = await callCodeDeploy(why, 'BatchGetDeploymentTargets', deployment.id, () =>
      why.client.send(new BatchGetDeploymentTargetsCommand({ deploymentId: deployment.id, targetIds: batch })),
    );
    return (out.deploymentTargets ?? []).map((t, i) => normalizeTarget(t, batch[i] ?? '(unknown target)'));
  });
  return { source: 'targets', targets };
}

async function fetchFromInstanceApis(
  why: WhyClient,
  deploymentId: string,
): Promise<{ source: TargetSource; targets: TargetFacts[] }> {
  let ids: string[];
  try {
    ids = await listAll(why, 'ListDeploymentInstances', deploymentId, async (nextToken) => {
      const out = await why.client.send(new ListDeploymentInstancesCommand({ deploymentId, nextToken }));
      return { ids: out.instancesList ?? [], nextToken: out.nextToken };
    });
  } catch (error) {
    if (causeName(error) === 'DeploymentNotStartedException') return { source: 'none', targets: [] };
    throw error;
  }
  const targets = await batchGet(ids, async (batch) => {
    const out = await callCodeDeploy(why, 'BatchGetDeploymentInstances', deploymentId, () =>
      why.client.send(new BatchGetDeploymentInstancesCommand({ deploymentId, instanceIds: batch })),
    );
    return (out.instancesSummary ?? []).map((s, i) => normalizeInstance(s, batch[i] ?? '(unknown instance)'));
  });
  return { source: 'instances', targets };
}

type Page = { ids: string[]; nextToken: string | undefined };

/** Follow nextToken to the end; a token seen twice ends the loop rather than spinning forever. */
async function listAll(
  why: WhyClient,
  operation: string,
  deploymentId: string,
  page: (token: string | undefined) => Promise<Page>,
): Promise<string[]> {
  const ids: string[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const current = token;
    const result = await callCodeDeploy(why, operation, deploymentId, () => page(current));
    ids.push(...result.ids);
    token = result.nextToken;
    if (token !== undefined && seen.has(token)) break;
    if (token !== undefined) seen.add(token);
  } while (token !== undefined && token !== '');
  return ids;
}

/**
 * Fetch ids in batches of BatchSize, one call at a time (gentle on CodeDeploy's rate limits); ids left out come back
 * as Unknown.
 */
async function batchGet(ids: string[], fetch: (batch: string[]) => Promise<TargetFacts[]>): Promise<TargetFacts[]> {
  const found = new Map<string, TargetFacts>();
  for (let i = 0; i < ids.length; i += BatchSize) {
    for (const target of await fetch(ids.slice(i, i + BatchSize))) found.set(target.id, target);
  }
  return ids.map(
    (id) =>
      found.get(shortenInstanceId(id)) ??
      found.get(id) ?? { id: shortenInstanceId(id), kind: 'unknown', status: 'Unknown', events: [] },
  );
}

function countTargets(deployment: DeploymentFacts): number {
  return Object.values(deployment.overview).reduce((sum, n) => sum + n, 0);
}

function causeName(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? cause.name : '';
}
