import { HookError } from '../errors.ts';

/** /proc text portproof cannot parse: its own code, naming the file and line, never "a portproof bug". */
export function malformedProcError(message: string): HookError {
  return new HookError('PROC_MALFORMED', `${message} (/proc is not in the format portproof reads)`);
}

/** /proc that cannot be read for a reason other than a vanished process or a permission. */
export function unreadableProcError(file: string, error: unknown): HookError {
  const message = `reading ${file}: ${(error as Error).message}`;
  return new HookError('PROC_UNREADABLE', message, { path: file }, { cause: error });
}
