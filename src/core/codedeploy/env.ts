// What the CodeDeploy agent tells a hook through its environment.

/** The deployment a hook runs for; null when a person runs the hook by hand. */
export interface CodeDeployEnv {
  lifecycleEvent: string;
  deploymentId: string;
  applicationName: string | undefined;
  deploymentGroupName: string | undefined;
  deploymentGroupId: string | undefined;
}

/** Read the agent's variables; absent LIFECYCLE_EVENT and DEPLOYMENT_ID mean a person is running the hook. */
export function readCodeDeployEnv(env: NodeJS.ProcessEnv = process.env): CodeDeployEnv | null {
  if (!env.LIFECYCLE_EVENT || !env.DEPLOYMENT_ID) return null;
  return {
    lifecycleEvent: env.LIFECYCLE_EVENT,
    deploymentId: env.DEPLOYMENT_ID,
    applicationName: env.APPLICATION_NAME,
    deploymentGroupName: env.DEPLOYMENT_GROUP_NAME,
    deploymentGroupId: env.DEPLOYMENT_GROUP_ID,
  };
}
