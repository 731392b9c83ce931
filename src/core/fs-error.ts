import util from 'node:util';

/** An errno's meaning as the C library says it ("no space left on device"), or the error's own message. */
export function describeFsError(error: unknown): string {
  const errno = (error as NodeJS.ErrnoException).errno;
  const known = typeof errno === 'number' ? util.getSystemErrorMap().get(errno) : undefined;
  if (known) return `${known[1]} (${known[0]})`;
  return error instanceof Error ? error.message : String(error);
}
