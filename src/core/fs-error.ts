/** A file system error in words with its code, e.g. "no space left on device (ENOSPC)", without Node's path suffix. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(message)?.[1];
  return words && code ? `${words} (${code})` : message;
}
