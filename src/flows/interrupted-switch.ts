// A switch the state marks as begun and never recorded or undone: a hook was killed mid-switch. Until a switch
// settles it, nginx may serve either port; what it serves now is read from the include and the running master.
import type { LoadedConfig } from '../core/config/load.ts';
import { describeNginxNow, readNginxNow, type NginxNow } from '../core/nginx/served-now.ts';
import type { AppState } from '../core/state/state.ts';

/** An interrupted switch, what nginx serves now, and whether that leaves the host split. */
export interface InterruptedSwitch {
  /** "a switch 8081 → 8082 was interrupted (2026-12-06T23:10:00Z): nginx serves port 8081 (…)". */
  message: string;
  now: NginxNow;
  /** nginx runs the include, which names the port the state records as live: nothing is split. */
  settled: boolean;
}

/** The state's unsettled switch mark with what nginx serves now; null when the state has none (or in place). */
export function findInterruptedSwitch(config: LoadedConfig, state: AppState): InterruptedSwitch | null {
  const mark = state.switching;
  if (mark === null || !config.nginx || config.ports.length < 2) return null;
  const now = readNginxNow(config.nginx, config.ports);
  const from = mark.from === null ? 'no include' : String(mark.from);
  const served = describeNginxNow(now, config.ports);
  const settled = now.running && now.runsInclude && now.includePort !== null && now.includePort === state.live;
  const since = mark.at ? ` at ${mark.at}` : '';
  const message = `a switch ${from} → ${mark.to} was interrupted${since} and not settled: ${served}`;
  return { message, now, settled };
}
