import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { callCodeDeploy } from './call.ts';
import type { WhyClient } from './client.ts';
import { WhyError } from './errors.ts';
import { normalizeDeployment } from './normalize.ts';
import type { DeploymentFacts } from './types.ts';

/** GetDeployment, as DeploymentFacts. */
export async function fetchDeployment(why: WhyClient, deploymentId: string): Promise<DeploymentFacts> {
  const output = await callCodeDeploy(why, 'GetDeployment', deploymentId, () =>
    why.client.send(new GetDeploymentCommand({ deploymentId })),
  );
  if (output.deploymentInfo === undefined)
    throw new WhyError(`CodeDeploy GetDeployment for ${deploymentId} answered without deploymentInfo`);
  return normalizeDeployment(output.deploymentInfo, deploymentId);
}
