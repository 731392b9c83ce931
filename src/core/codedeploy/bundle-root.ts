import path from 'node:path';
import * as sea from 'node:sea';

/** True inside a compiled single-executable hook (Node's SEA), false when run from source. */
export function isCompiledHook(): boolean {
  return sea.isSea();
}

/**
 * The revision's root directory. CodeDeploy runs a hook from the agent's own working directory, so a compiled
 * hook at <root>/hooks/validate finds its bundle from its own path; a run from source uses the working directory.
 */
export function locateBundleRoot(): string {
  if (process.env.PORTPROOF_BUNDLE_ROOT) return path.resolve(process.env.PORTPROOF_BUNDLE_ROOT);
  return isCompiledHook() ? path.dirname(path.dirname(process.execPath)) : process.cwd();
}
