import { renderIncludeLine } from '../nginx/include.ts';
import type { LoadedConfig } from './load.ts';
import { substitutePort } from './port-placeholder.ts';

/** The config's per-port values for one port, `{port}` substituted: what starts, logs, answers and routes there. */
export interface ResolvedPort {
  port: number;
  /** app.command for this port. */
  argv: string[];
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
    argv: config.app.command.map((arg) => substitutePort(arg, port)),
    logFile: substitutePort(config.app.log, port),
    healthUrl: substitutePort(config.health.url, port),
    includeLine: config.nginx ? renderIncludeLine(config.nginx.line, port) : null,
  };
}
