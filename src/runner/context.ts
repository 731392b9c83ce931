import type { LoadedConfig } from '../core/config/load.ts';
import type { CodeDeployEnv } from '../core/codedeploy/env.ts';
import type { HookOptions } from './args.ts';
import type { Deadline } from './deadline.ts';
import type { LifecycleEvent } from '../core/events.ts';
import type { Logger } from './logger.ts';
import type { HookOutput } from './output.ts';

/** Everything a hook's flow works with, set up by runHook. */
export interface HookContext {
  event: LifecycleEvent;
  options: HookOptions;
  config: LoadedConfig;
  /** <stateDir>/<app>: state.json, lock, hooks.log, default app logs. */
  appDir: string;
  out: HookOutput;
  log: Logger;
  deadline: Deadline;
  deployment: CodeDeployEnv | null;
  /** What preflight found wrong with the config: a real run never starts with any; --check reports them. */
  preflight: string[];
}

/** A report's outcome: the verdict's text and its exit code (--check's status; 0 reads as OK). */
export interface FlowOutcome {
  summary: string;
  exitCode: number;
}

/** A hook's work: returns the verdict's text after "OK: ", or throws a HookError whose message is the verdict. */
export type HookFlow = (ctx: HookContext) => Promise<string | FlowOutcome>;
