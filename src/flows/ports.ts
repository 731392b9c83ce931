import type { LoadedConfig } from '../core/config/load.ts';
import { readLivePort } from '../core/nginx/include.ts';

/** Which port is live (nginx points at it) and which one a deployment targets. */
export interface PortRoles {
  /** Blue/green: the port the nginx include names now; in-place: the one port. Null when nothing is live yet. */
  live: number | null;
  target: number;
  blueGreen: boolean;
}

/**
 * In-place, the only port is both live and the target. Blue/green, the target is the port nginx does not point
 * at; with no (recognisable) include yet, the first port.
 */
export function readPortRoles(config: LoadedConfig): PortRoles {
  const [first, second] = config.ports as [number, number | undefined];
  if (second === undefined || !config.nginx) return { live: first, target: first, blueGreen: false };
  const live = readLivePort(config.nginx.include, config.nginx.line).port;
  const known = live === first || live === second ? live : null;
  return { live: known, target: known === first ? second : first, blueGreen: true };
}
