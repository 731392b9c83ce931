import type { HookFlow } from './context.ts';
import { hookHelp, type LifecycleEvent } from './help.ts';
import { VERSION } from '../version.ts';

/**
 * A hook executable's first step: --version and --help answer at once, before the rest of portproof is even
 * evaluated (the bundle loads the runner and the flows lazily), so a person's first try is instant.
 */
export function startHook(event: LifecycleEvent, loadFlow: () => Promise<HookFlow>, argv = process.argv.slice(2)): void {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    process.stdout.write(`portproof ${VERSION} (${event}) node ${process.version} ${process.platform}-${process.arch}\n`);
    return;
  }
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    process.stdout.write(`${hookHelp(event)}\n`);
    return;
  }
  // --check loads its own flow only when asked for: a real hook run does not pay for it.
  const check: HookFlow = async (ctx) => (await import('../../flows/check.ts')).checkFlow(ctx);
  void Promise.all([import('./run-hook.ts'), loadFlow()]).then(([{ runHook }, run]) => runHook(event, { run, check }, argv));
}
