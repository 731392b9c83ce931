// The recipe: (wait until final →) get the deployment → fetch its targets → group failures → render.
import type { WhyOptions } from './args.ts';
import { createWhyClient } from './client.ts';
import { fetchDeployment } from './fetch-deployment.ts';
import { fetchTargets } from './fetch-targets.ts';
import { groupFailures } from './group-failures.ts';
import { renderJson } from './render-json.ts';
import { renderText } from './render-text.ts';
import type { WhyReport } from './types.ts';
import { waitForFinalStatus } from './wait.ts';

/** Where output goes: stdout for the report, stderr for errors (and progress lines under --json). */
export interface WhyOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Run `portproof why` and return its exit code; expected failures are thrown as WhyError. */
export async function runWhy(options: WhyOptions, output: WhyOutput): Promise<number> {
  const why = createWhyClient({ region: options.region, endpointUrl: options.endpointUrl });
  try {
    const deployment = options.wait
      ? await waitForFinalStatus(() => fetchDeployment(why, options.deploymentId), {
          pollMs: options.pollMs,
          progressMs: options.progressMs,
          onProgress: options.json ? output.err : output.out,
        })
      : await fetchDeployment(why, options.deploymentId);
    const { source, targets } = await fetchTargets(why, deployment);
    const report: WhyReport = { deployment, source, targets, groups: groupFailures(targets) };
    const exitCode = exitCodeFor(deployment.status);
    if (options.json) output.out(renderJson(report, exitCode));
    else for (const line of renderText(report)) output.out(line);
    return exitCode;
  } finally {
    why.client.destroy();
  }
}

/** 1 for a deployment that failed or was stopped; 0 otherwise (succeeded, ready, or still running). */
export function exitCodeFor(status: string): 0 | 1 {
  return status === 'Failed' || status === 'Stopped' ? 1 : 0;
}
