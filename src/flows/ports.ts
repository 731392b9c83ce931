import path from 'node:path';
import type { LoadedConfig } from '../core/config/load.ts';
import { HookError } from '../core/errors.ts';
import { includeRefusal, readInclude } from '../core/nginx/include.ts';
import type { AppState } from '../core/state/state.ts';

/** Which port is live (nginx points at it) and which one a deployment targets. */
export interface PortRoles {
  /** Blue/green: the port the nginx include names now; in-place: the one port. Null when nothing is live yet. */
  live: number | null;
  target: number;
  blueGreen: boolean;
}

/**
 * In-place, the only port is both live and the target. Blue/green, the target is the port nginx does not point
 * at; with no include yet (missing or empty), the first port. An include whose live port cannot be told is refused.
 */
export function readPortRoles(config: LoadedConfig): PortRoles {
  const [first, second] = config.ports as [number, number | undefined];
  if (second === undefined || !config.nginx) return { live: first, target: first, blueGreen: false };
  const live = readIncludeLive(config);
  return { live, target: live === first ? second : first, blueGreen: true };
}

/**
 * Refuse to signal anything on `port` if nginx may be serving it: per the include (`roles`, read once per hook) and
 * per the state's record of the last switch. When those two disagree, which app is live is not certain, and the
 * operator settles it with validate.
 */
export function assertNotServed(
  config: LoadedConfig,
  roles: PortRoles,
  state: AppState,
  appDir: string,
  port: number,
): void {
  if (!roles.blueGreen || !config.nginx) return;
  const include = config.nginx.include;
  const live = roles.live;
  const recorded = state.live;
  const stateFile = path.join(appDir, 'state.json');
  if (recorded !== null && live !== recorded) {
    const says = live === null ? 'is missing or empty' : `names port ${live}`;
    const validate = `"hooks/validate --port ${live ?? recorded}"`;
    const settle = live === null ? validate : `${validate} (or --port ${recorded})`;
    throw new HookError(
      'LIVE_PORT_CONFLICT',
      `nginx include ${include} ${says} but ${stateFile} records the last switch to port ${recorded}: ` +
        `which app is live is not certain, so nothing was signalled; run ${settle} ` +
        "to verify that port's app and point nginx at it, then deploy again",
      { port, include, live, recorded },
    );
  }
  if (port === live) {
    const message = `port ${port} is the port nginx serves (${include} names it); nothing was signalled`;
    throw new HookError('LIVE_PORT_CONFLICT', message, { port, include });
  }
}

/** The configured port the include names, null for a first deployment; an include that cannot be read is refused. */
function readIncludeLive(config: LoadedConfig): number | null {
  const nginx = config.nginx!;
  const reading = readInclude(nginx.include, nginx.line, config.ports);
  if (reading.kind === 'unknown') throw includeRefusal(nginx.include, reading);
  return reading.kind === 'live' ? reading.port : null;
}
