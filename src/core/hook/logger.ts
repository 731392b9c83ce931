import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { redactJsonLine } from './redact.ts';

export type Logger = pino.Logger;

/**
 * JSON lines to <dir>/hooks.log through a synchronous destination (a hook can exit at any moment; transports
 * need worker threads, which a single-executable binary lacks). Without a writable dir, logs go nowhere.
 */
export function createHookLogger(dir: string | null, fields: Record<string, unknown>): Logger {
  if (dir === null) return pino({ enabled: false });
  fs.mkdirSync(dir, { recursive: true });
  const destination = pino.destination({ dest: path.join(dir, 'hooks.log'), sync: true, mkdir: true });
  // Every line is written through the redaction safety net: a secret that reached a field or message is hidden.
  const hooks = { streamWrite: redactJsonLine };
  return pino({ base: { pid: process.pid, ...fields }, timestamp: pino.stdTimeFunctions.isoTime, hooks }, destination);
}
