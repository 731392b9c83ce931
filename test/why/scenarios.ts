// Scripted deployments shared by the why tests.
import {
  deploymentInfo,
  instanceId,
  instanceSummary,
  instanceTarget,
  lifecycleEvents,
  scriptFailed,
  validateLogLines,
} from '../support/codedeploy-fixtures.ts';
import type { Json, ScriptedDeployment } from '../support/codedeploy-server.ts';

/** One instance, in place, failed at ValidateService with portproof's verdict in its log tail. */
export function singleFailure(id: string): ScriptedDeployment {
  const events = lifecycleEvents({
    failAt: 'ValidateService',
    diagnostics: scriptFailed('hooks/validate', validateLogLines(5120)),
  });
  return {
    info: deploymentInfo({
      deploymentConfigName: 'CodeDeployDefault.OneAtATime',
      deploymentOverview: overview({ Failed: 1 }),
    }),
    targets: [instanceTarget(id, instanceId(1), 'Failed', events)],
  };
}

/** Ten instances: 7 identical ValidateService failures, 1 start failure, 1 timeout, 1 skipped. */
export function fleet(id: string): ScriptedDeployment {
  const targets: Json[] = [];
  for (let n = 1; n <= 10; n++) {
    const i = instanceId(n);
    if (n <= 7) {
      // Same failure, tails differ only in the new PID: grouped, with "different tails" noted.
      const diagnostics = scriptFailed('hooks/validate', validateLogLines(5000 + (n % 2)));
      targets.push(instanceTarget(id, i, 'Failed', lifecycleEvents({ failAt: 'ValidateService', diagnostics })));
    } else if (n === 8) {
      const diagnostics = scriptFailed('hooks/start', [
        'starting java -jar app.jar',
        'portproof ApplicationStart FAILED: PID 5120 exited with code 1: "Port 8082 was already in use"',
      ]);
      targets.push(instanceTarget(id, i, 'Failed', lifecycleEvents({ failAt: 'ApplicationStart', diagnostics })));
    } else if (n === 9) {
      const diagnostics = {
        errorCode: 'ScriptTimedOut',
        scriptName: 'hooks/validate',
        message: 'Script at specified location: hooks/validate failed to complete in 300 seconds',
        logTail: '',
      };
      targets.push(instanceTarget(id, i, 'Failed', lifecycleEvents({ failAt: 'ValidateService', diagnostics })));
    } else {
      targets.push(instanceTarget(id, i, 'Skipped', lifecycleEvents({ allSkipped: true })));
    }
  }
  return { info: deploymentInfo({ deploymentOverview: overview({ Failed: 9, Skipped: 1 }) }), targets };
}

/** A deployment from before deployment targets: only the instance APIs know its instances. */
export function legacy(id: string, count: number, withoutTargets: 'error' | 'empty'): ScriptedDeployment {
  const instances = Array.from({ length: count }, (_, k) => {
    const events = lifecycleEvents({
      failAt: 'AfterInstall',
      diagnostics: scriptFailed('scripts/after_install.sh', ['chown: invalid user: app'], 1),
    });
    return k === 0
      ? instanceSummary(id, instanceId(k + 1), 'Failed', events)
      : instanceSummary(id, instanceId(k + 1), 'Succeeded', lifecycleEvents());
  });
  return {
    info: deploymentInfo({
      computePlatform: undefined,
      deploymentOverview: overview({ Failed: 1, Succeeded: count - 1 }),
    }),
    instances,
    withoutTargets,
  };
}

/** A deployment of n instances that all succeeded. */
export function succeeded(id: string, n: number): ScriptedDeployment {
  return {
    info: deploymentInfo({
      status: 'Succeeded',
      errorInformation: undefined,
      deploymentOverview: overview({ Succeeded: n }),
    }),
    targets: Array.from({ length: n }, (_, k) => instanceTarget(id, instanceId(k + 1), 'Succeeded', lifecycleEvents())),
  };
}

/** deploymentOverview with zeros for every count not given. */
export function overview(
  counts: Partial<Record<'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' | 'Ready', number>>,
): Json {
  return { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Ready: 0, ...counts };
}

/** True when some line looks like a stack frame. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+\(.+:\d+:\d+\)$/m.test(text) || /^\s+at .+:\d+:\d+$/m.test(text);
}
