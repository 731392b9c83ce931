import type fs from 'node:fs';
import util from 'node:util';

/** An errno's meaning as the C library says it ("no space left on device"), or the error's own message. */
export function describeFsError(error: unknown): string {
  const errno = (error as NodeJS.ErrnoException).errno;
  const known = typeof errno === 'number' ? util.getSystemErrorMap().get(errno) : undefined;
  if (known) return `${known[1]} (${known[0]})`;
  return error instanceof Error ? error.message : String(error);
}

/** What a file that is not a regular file is, as a refusal names it: "a directory", "a FIFO", "a character device". */
export function describeFileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a plain file';
}
