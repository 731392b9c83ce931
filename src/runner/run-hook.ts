import { locateBundleRoot } from '../core/codedeploy/bundle-root.ts';
import { readHookTimeoutSeconds } from '../core/codedeploy/appspec.ts';
import { readCodeDeployEnv } from '../core/codedeploy/env.ts';
import { formatDuration } from '../core/config/duration.ts';
import { configProblems, loadConfig, resolveConfigPath, type LoadedConfig } from '../core/config/load.ts';
import { preflight } from '../core/config/preflight.ts';
import { listSecrets } from '../core/config/secrets.ts';
import { HookError } from '../core/errors.ts';
import type { LifecycleEvent } from '../core/events.ts';
import { appStateDir } from '../core/state/state.ts';
import { DefaultLockWaitMs } from '../core/defaults.ts';
import { acquireLock, type HeldLock } from '../core/state/lock.ts';
import { ensureTrustedStateDir } from '../core/state/trust.ts';
import { hideSecrets } from '../core/text/redact.ts';
import { parseHookArgs } from './args.ts';
import type { HookContext, HookFlow } from './context.ts';
import { Deadline } from './deadline.ts';
import { hookHelp, hookVersion } from './help.ts';
import { isInterrupted, runInterruptCleanups } from './interrupt-cleanup.ts';
import { ignoreClosedPipe } from './closed-pipe.ts';
import { renderJsonFailure } from './json-failure.ts';
import { createHookLogger, type Logger } from './logger.ts';
import { HookOutput } from './output.ts';
import { failedVerdict, okVerdict, toHookError, unhealthyVerdict } from './verdict.ts';

/** The flows a hook executable can run: its own, and the read-only report every hook offers. */
export interface HookFlows {
  run: HookFlow;
  check: HookFlow;
  /** The closing lines of a run whose config cannot be used, when the hook ends 0 rather than fail (stop). */
  unusableConfig?: (error: HookError, config: LoadedConfig | null) => string[];
}

/**
 * The one runner every hook entry hands its flows to: flags, config, logging, lock, deadline and signals, then the
 * verdict line last and the only process.exit.
 */
export function runHook(event: LifecycleEvent, flows: HookFlows, argv = process.argv.slice(2)): void {
  ignoreClosedPipe();
  void executeHook(event, flows, argv).then((code) => process.exit(code));
}

/** Run a hook to its verdict and return its exit code (the workstation CLI runs hooks from source this way). */
export async function executeHook(event: LifecycleEvent, flows: HookFlows, argv: string[]): Promise<number> {
  let log: Logger | null = null;
  let lock: HeldLock | null = null;
  let config: LoadedConfig | null = null;
  try {
    const options = parseHookArgs(argv, event === 'ValidateService');
    if (options.help) return print(hookHelp(event), 0);
    if (options.version) return print(hookVersion(event), 0);
    const bundleRoot = locateBundleRoot();
    let problems: string[];
    try {
      config = loadConfig(resolveConfigPath(bundleRoot, options.config), bundleRoot);
      hideSecrets(listSecrets(config));
      problems = preflight(config, {
        launch: options.check || event === 'ApplicationStart',
        nginx: options.check || event === 'ValidateService',
      });
      // A real run stops here, before the lock and before any flow; --check only reports what it found.
      if (problems.length > 0 && !options.check) throw configProblems(config.file, problems);
    } catch (error) {
      const unusable = error instanceof HookError && error.code === 'BAD_CONFIG' && !options.check;
      if (unusable && flows.unusableConfig) return print(flows.unusableConfig(error, config).join('\n'), 0);
      throw error;
    }
    const appDir = appStateDir(config.stateDir, config.app.name);
    const deployment = readCodeDeployEnv();
    ensureTrustedStateDir(config.stateDir, appDir, { readOnly: options.check });
    log = openLog(appDir, event, deployment?.deploymentId ?? null, options.check);
    const deadline = new Deadline(readHookTimeoutSeconds(bundleRoot, event) * 1000);
    const out = new HookOutput(log, options.json);
    for (const problem of problems) out.say(`preflight: ${problem}`);
    const ctx: HookContext = { event, options, config, appDir, out, log, deadline, deployment, preflight: problems };
    watchForInterrupts(event, ctx, () => lock?.release());
    if (!options.check)
      lock = await acquireLock(
        appDir,
        event,
        deployment?.deploymentId ?? null,
        Math.min(DefaultLockWaitMs, deadline.remainingMs()),
      );
    const result = await (options.check ? flows.check : flows.run)(ctx);
    if (isInterrupted()) return await waitForInterruptVerdict();
    const { summary, exitCode } = typeof result === 'string' ? { summary: result, exitCode: 0 } : result;
    log.info({ verdict: exitCode === 0 ? 'OK' : 'UNHEALTHY', exitCode, durationMs: deadline.elapsedMs() }, summary);
    if (options.json) return exitCode;
    return print(exitCode === 0 ? okVerdict(event, summary) : unhealthyVerdict(event, summary), exitCode);
  } catch (error) {
    // The flow failed while an interrupt cleans up (it stopped the flow's processes): the interrupt says why.
    if (isInterrupted()) return await waitForInterruptVerdict();
    const hookError = toHookError(error);
    // nginx not loading this revision's include makes its config as unusable as a broken one (ApplicationStop ends 0).
    if (hookError.code === 'INCLUDE_NOT_READ' && flows.unusableConfig) {
      log?.warn({ verdict: 'WARNING', code: hookError.code }, hookError.message);
      return print(flows.unusableConfig(hookError, config).join('\n'), 0);
    }
    log?.error({ verdict: 'FAILED', code: hookError.code, ...hookError.context, err: hookError }, hookError.message);
    // --json asked for JSON: a usage or config error too, before the flags were even read.
    if (argv.includes('--json')) return print(renderJsonFailure(event, hookError), hookError.exitCode);
    return print(failedVerdict(event, hookError).join('\n'), hookError.exitCode);
  } finally {
    lock?.release();
  }
}

function openLog(appDir: string, event: LifecycleEvent, deploymentId: string | null, readOnly: boolean): Logger {
  try {
    return createHookLogger(appDir, { lifecycleEvent: event, deploymentId });
  } catch (error) {
    // A read-only report may run as a user who cannot write the state dir; a real hook run needs it.
    if (readOnly) return createHookLogger(null, {});
    throw new HookError(
      'STATE_DIR_FAILED',
      `cannot write ${appDir}: ${(error as Error).message} (run the hook as root, or set stateDir)`,
    );
  }
}

function watchForInterrupts(event: LifecycleEvent, ctx: HookContext, release: () => void): void {
  const interrupt = async (why: string) => {
    // A second signal while the cleanup runs: the first interrupt's verdict is on its way.
    if (isInterrupted()) return;
    const activity = ctx.out.activity.replace(/^./, (c) => c.toLowerCase());
    const elapsed = formatDuration(ctx.deadline.elapsedMs());
    const cleaned = await runInterruptCleanups();
    release();
    const message = `${why} after ${elapsed} while ${activity}${cleaned ? `; ${cleaned}` : ''}`;
    ctx.log.error({ verdict: 'FAILED', code: 'INTERRUPTED' }, message);
    process.stdout.write(`${failedVerdict(event, new HookError('INTERRUPTED', message)).join('\n')}\n`);
    process.exit(1);
  };
  // `on`, not `once`: the agent's unit stopping sends two SIGTERMs within a millisecond (systemd to the cgroup, the
  // agent to the group); with the listener gone the second would kill the hook before its undo and its verdict.
  process.on('SIGTERM', () => void interrupt('interrupted by SIGTERM (CodeDeploy timeout?)'));
  process.on('SIGINT', () => void interrupt('interrupted by SIGINT'));
  // A safety net behind the capped waits: whatever hangs, the hook's own verdict comes before the agent's timeout.
  const timer = setTimeout(
    () => void interrupt(`gave up before the appspec timeout of ${formatDuration(ctx.deadline.timeoutMs)}`),
    ctx.deadline.remainingMs() + 1000,
  );
  timer.unref();
}

/** Never settles: an interrupted hook ends with the interrupt's verdict, not the flow's. */
function waitForInterruptVerdict(): Promise<never> {
  return new Promise(() => {});
}

function print(text: string, code: number): number {
  process.stdout.write(`${text}\n`);
  return code;
}
