import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The agent's default when appspec.yml gives no timeout for a hook. */
export const DefaultHookTimeoutSeconds = 3600;
/** CodeDeploy's maximum timeout for one lifecycle hook. */
export const MaxHookTimeoutSeconds = 3600;

/**
 * This hook's timeout in seconds from the bundle's appspec.yml: the entry for the event, preferring the one whose
 * location is this executable. A missing or unreadable appspec means the agent's default.
 */
export function readHookTimeoutSeconds(bundleRoot: string, event: string, executable = process.execPath): number {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(path.join(bundleRoot, 'appspec.yml'), 'utf8'));
  } catch {
    // No appspec (a person running the hook, a source checkout): the agent's default applies.
    return DefaultHookTimeoutSeconds;
  }
  const entries = (doc as { hooks?: Record<string, unknown> } | null)?.hooks?.[event];
  if (!Array.isArray(entries) || entries.length === 0) return DefaultHookTimeoutSeconds;
  const mine = entries.find((e) => path.resolve(bundleRoot, String(e?.location ?? '')) === executable) ?? entries[0];
  const timeout = Number(mine?.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) return DefaultHookTimeoutSeconds;
  // CodeDeploy allows at most 3600 s per hook: a larger value is read as 3600 (it would also overflow the timers).
  return Math.min(timeout, MaxHookTimeoutSeconds);
}
