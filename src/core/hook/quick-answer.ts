import { hookHelp, type LifecycleEvent } from './help.ts';
import { VERSION } from '../version.ts';

/**
 * Answer `--version` or `--help` at once, before the rest of portproof is even compiled; false for anything else.
 * Shared by the hook runner and the compiled executables' launcher, which loads the hook only when it must run.
 */
export function answerAtOnce(event: LifecycleEvent, argv: string[]): boolean {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    process.stdout.write(`portproof ${VERSION} (${event}) node ${process.version} ${process.platform}-${process.arch}\n`);
    return true;
  }
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    process.stdout.write(`${hookHelp(event)}\n`);
    return true;
  }
  return false;
}
