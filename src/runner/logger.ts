import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describeFsError } from '../core/fs-error.ts';
import { redactJsonLine } from '../core/text/redact.ts';

export type Logger = pino.Logger;

/**
 * JSON lines to <dir>/hooks.log through a synchronous destination (a hook can exit at any moment; transports
 * need worker threads, which a single-executable binary lacks). Without a writable dir, logs go nowhere.
 */
export function createHookLogger(dir: string | null, fields: Record<string, unknown>): Logger {
  if (dir === null) return pino({ enabled: false });
  fs.mkdirSync(dir, { recursive: true });
  const destination = openLogDestination(path.join(dir, 'hooks.log'));
  // Every line is written through the redaction safety net: a secret that reached a field or message is hidden.
  const hooks = { streamWrite: redactJsonLine };
  return pino({ base: { pid: process.pid, ...fields }, timestamp: pino.stdTimeFunctions.isoTime, hooks }, destination);
}

/**
 * A synchronous append-only destination that never throws: a log line that cannot be written (disk full, file system
 * turned read-only) is dropped, said once on stderr, and the hook goes on to its verdict.
 */
export function openLogDestination(file: string): pino.DestinationStream {
  const fd = fs.openSync(file, 'a', 0o600);
  // It may quote an app's last lines and a path someone else chose: root's alone, also when an older release made it
  // (only its owner may change that; a hook run as another user leaves it as it is).
  if (fs.fstatSync(fd).uid === process.getuid?.()) fs.fchmodSync(fd, 0o600);
  let failed = false;
  return {
    write(line: string): void {
      try {
        const bytes = Buffer.from(line);
        // O_APPEND: a short write (disk filling up) leaves a cut line; the rest is dropped rather than retried forever.
        fs.writeSync(fd, bytes, 0, bytes.length);
      } catch (error) {
        // The log is evidence, not the verdict: losing a line must not end the hook.
        if (failed) return;
        failed = true;
        const why = describeFsError(error);
        process.stderr.write(`portproof: cannot write ${file}: ${why}; JSON log lines are dropped\n`);
      }
    },
  };
}
