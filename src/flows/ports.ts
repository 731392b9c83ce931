import path from 'node:path';
import type { LoadedConfig } from '../core/config/load.ts';
import { HookError } from '../core/errors.ts';
import { includeRefusal, readInclude } from '../core/nginx/include.ts';
import { assertNginxReadsInclude, type NginxFiles } from '../core/nginx/loaded-files.ts';
import { describeProcess } from '../core/process/describe.ts';
import { findListeners, rereadProcess } from '../core/procfs/index.ts';
import { findRecord, type AppState } from '../core/state/state.ts';
import { findInterruptedSwitch } from './interrupted-switch.ts';

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
 * The port roles of a hook that may signal or switch: first nginx must load the include (`nginx -T`), or the roles
 * read from it say nothing about what nginx serves. Returns nginx's files too (null in place).
 */
export async function readServedRoles(
  config: LoadedConfig,
  untilMs: number,
): Promise<{ roles: PortRoles; files: NginxFiles | null }> {
  const files = config.nginx && config.ports.length > 1 ? await assertNginxReadsInclude(config.nginx, untilMs) : null;
  return { roles: readPortRoles(config), files };
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
  const interrupted = findInterruptedSwitch(config, state);
  if (interrupted && !interrupted.settled) {
    throw new HookError(
      'LIVE_PORT_CONFLICT',
      `${interrupted.message}; the host may serve either port, so nothing was signalled: run ` +
        '"hooks/validate --port N" for the port nginx should serve, then deploy again',
      { port, switching: state.switching },
    );
  }
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
  if (live === null && recorded === null) assertFirstDeployment(config, state, port);
}

/**
 * No include and no recorded switch reads as a first deployment, which targets the first port. But a process
 * portproof did not start listening there is what nginx may serve today: `nginx.include` naming the wrong file (a
 * typo), or nginx proxying to the port directly before the include is introduced. Freeing it would be the 502 this
 * tool exists to prevent, so it is refused until the operator says which app is live.
 */
function assertFirstDeployment(config: LoadedConfig, state: AppState, port: number): void {
  const record = findRecord(state, port);
  const started = record ? rereadProcess(record) : null;
  // What portproof started there (and its session: a forked server, a backgrounded app) is its own to replace.
  const owners = findListeners(port).listeners.flatMap((l) => l.owners);
  const foreign = owners.filter((o) => started === null || (o.pid !== started.pid && o.sid !== started.sid));
  if (foreign.length === 0) return;
  const who = [...new Map(foreign.map((o) => [o.pid, o])).values()].map(describeProcess).join(', ');
  throw new HookError(
    'LIVE_PORT_CONFLICT',
    `nginx include ${config.nginx!.include} is missing or empty, so this reads as a first deployment on port ` +
      `${port}, but ${who} listens there and portproof did not start it: nginx may be serving it (is ` +
      'nginx.include the file nginx reads?); nothing was signalled. Write the include naming the port nginx serves, ' +
      'or stop that process yourself, then deploy again',
    { port, include: config.nginx!.include, foreign: foreign.map((o) => o.pid) },
  );
}

/** The configured port the include names, null for a first deployment; an include that cannot be read is refused. */
function readIncludeLive(config: LoadedConfig): number | null {
  const nginx = config.nginx!;
  const reading = readInclude(nginx.include, nginx.line, config.ports);
  if (reading.kind === 'unknown') throw includeRefusal(nginx.include, reading);
  return reading.kind === 'live' ? reading.port : null;
}
