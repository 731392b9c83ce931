import { renderIncludeLine } from '../nginx/include.ts';
import type { LoadedConfig } from './load.ts';
import { substitutePort } from './port-placeholder.ts';

/** The config's per-port values for one port, `{port}` substituted: what starts, logs, answers and routes there. */
export interface ResolvedPort {
  port: number;
  /** app.command for this port; empty when the app is the user's own unit. */
  argv: string[];
  /** The systemd unit that runs the app on this port under systemd: app.unit (its instance is the port), else the
   * one portproof writes. */
  unit: string;
  /** app.log for this port. */
  logFile: string;
  /** health.url for this port. */
  healthUrl: string;
  /** The active line of the nginx include when it points at this port; null without nginx. */
  includeLine: string | null;
}

/** Resolve everything the config says about `port` in one place. */
export function resolvePort(config: LoadedConfig, port: number): ResolvedPort {
  return {
    port,
    argv: (config.app.command ?? []).map((arg) => substitutePort(arg, port)),
    unit: unitForPort(config.app, port),
    logFile: substitutePort(config.app.log, port),
    healthUrl: substitutePort(config.health.url, port),
    includeLine: config.nginx ? renderIncludeLine(config.nginx.line, port) : null,
  };
}

/** `myapp@.service` → `myapp@8082.service`; a plain app.unit as it is; otherwise `portproof-myapp@8082.service`. */
function unitForPort(app: LoadedConfig['app'], port: number): string {
  if (app.unit === undefined) return `portproof-${app.name}@${port}.service`;
  return app.unit.replace(/@\.service$/, `@${port}.service`);
}
