import type { WhyClient } from './client.ts';
import { explainCodeDeployError } from './errors.ts';

/** Run one CodeDeploy call; any failure becomes a one-line WhyError naming the operation. */
export async function callCodeDeploy<T>(
  why: WhyClient,
  operation: string,
  deploymentId: string,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw explainCodeDeployError(error, {
      operation,
      deploymentId,
      endpoint: why.lastEndpoint(),
      region: await why.region(),
    });
  }
}
