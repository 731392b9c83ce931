import { parse as parseYaml } from 'yaml';
import { formatDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import { DefaultHookTimeoutSeconds, MaxHookTimeoutSeconds } from './appspec.ts';

/** A wait in portproof.yml and the hooks that wait it: each must end inside that hook's appspec timeout. */
interface Wait {
  key: string;
  ms: (config: Config) => number;
  events: string[];
}

const Waits: Wait[] = [
  { key: 'stop.grace', ms: (c) => c.stop.grace, events: ['ApplicationStop', 'ApplicationStart'] },
  { key: 'start.timeout', ms: (c) => c.start.timeout, events: ['ApplicationStart'] },
  { key: 'health.timeout + health.settle', ms: (c) => c.health.timeout + c.health.settle, events: ['ValidateService'] },
];

/**
 * The waits of `config` that do not fit the appspec's timeout of a hook that waits them (CodeDeploy would end the
 * hook first, and the app would get less time than the config promises): one line each, naming both numbers.
 */
export function checkWaitsFitAppspec(config: Config, appspecText: string): string[] {
  const timeouts = readHookTimeouts(appspecText);
  const problems: string[] = [];
  for (const wait of Waits) {
    for (const event of wait.events) {
      const seconds = timeouts[event];
      if (seconds === undefined || wait.ms(config) < seconds * 1000) continue;
      const fix = `raise the appspec timeout or lower ${wait.key}`;
      const what = `${wait.key}: ${formatDuration(wait.ms(config))} is not shorter than appspec.yml's ${event} timeout`;
      problems.push(`${what} (${seconds} s): CodeDeploy would end the hook first; ${fix}`);
    }
  }
  return problems;
}

/** Each hook's timeout in seconds as the agent reads it (the first entry of the event; 3600 when not given). */
function readHookTimeouts(text: string): Record<string, number> {
  const doc = parseYaml(text) as { hooks?: Record<string, unknown> } | null;
  const out: Record<string, number> = {};
  for (const [event, entries] of Object.entries(doc?.hooks ?? {})) {
    if (!Array.isArray(entries) || entries.length === 0) continue;
    const timeout = Number((entries[0] as { timeout?: unknown } | null)?.timeout ?? DefaultHookTimeoutSeconds);
    out[event] =
      Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, MaxHookTimeoutSeconds) : DefaultHookTimeoutSeconds;
  }
  return out;
}
