import fs from 'node:fs';

/** Move a finished temporary file over its final name in one rename, so no half-written output is ever seen. */
export function replaceFile(temp: string, target: string, mode = 0o755): void {
  fs.chmodSync(temp, mode);
  fs.renameSync(temp, target);
}
