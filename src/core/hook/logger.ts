import fs from 'node:fs';
import path from 'node:path';

/** The calls a hook logs with: pino's shape, `(fields, message)` or `(message)`. */
export interface Logger {
  debug(fields: Record<string, unknown> | string, message?: string): void;
  info(fields: Record<string, unknown> | string, message?: string): void;
  warn(fields: Record<string, unknown> | string, message?: string): void;
  error(fields: Record<string, unknown> | string, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** pino's level numbers; debug is below the default level and not written, as with pino. */
const Levels = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const MinLevel = Levels.info;

/**
 * JSON lines to <dir>/hooks.log in pino's format (level, time, pid, bindings, fields, msg), each written at once with
 * a synchronous write: a hook can exit at any moment. A dozen lines of its own rather than pino, whose loading cost
 * a no-op hook more than the rest of its work. Without a writable dir, logs go nowhere.
 */
export function createHookLogger(dir: string | null, fields: Record<string, unknown>): Logger {
  if (dir === null) return makeLogger(null, {});
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(path.join(dir, 'hooks.log'), 'a');
  return makeLogger(fd, { pid: process.pid, ...fields });
}

function makeLogger(fd: number | null, bindings: Record<string, unknown>): Logger {
  const write = (level: number) => (fields: Record<string, unknown> | string, message?: string) => {
    // A disabled logger, or a level below the threshold, writes nothing.
    if (fd === null || level < MinLevel) return;
    const [own, msg] = typeof fields === 'string' ? [{}, fields] : [fields, message];
    const entry = { level, time: new Date().toISOString(), ...bindings, ...own, msg };
    fs.writeSync(fd, `${JSON.stringify(entry, serializeError)}\n`);
  };
  return {
    debug: write(Levels.debug),
    info: write(Levels.info),
    warn: write(Levels.warn),
    error: write(Levels.error),
    child: (more) => makeLogger(fd, { ...bindings, ...more }),
  };
}

/** Errors as pino's standard serializer writes them: type, message, stack (and code when there is one). */
function serializeError(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as NodeJS.ErrnoException).code;
  return { type: value.name, message: value.message, stack: value.stack, ...(code === undefined ? {} : { code }) };
}
