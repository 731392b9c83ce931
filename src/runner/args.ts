import { parseArgs } from 'node:util';
import { HookError } from '../core/errors.ts';

/** The operator flags every hook executable takes. */
export interface HookOptions {
  check: boolean;
  json: boolean;
  port: number | undefined;
  config: string | undefined;
  help: boolean;
  version: boolean;
}

/** Parse a hook's flags; anything unknown or malformed is a usage error (exit 2). */
export function parseHookArgs(argv: string[], allowPort: boolean): HookOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        check: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        port: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    }));
  } catch (error) {
    throw new HookError('BAD_USAGE', `${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  if (values.port !== undefined && !allowPort)
    throw new HookError('BAD_USAGE', '--port is a ValidateService flag (hooks/validate --port N)');
  // Decimal digits only: Number() would also take "0x1F91", "1e3" or " 8081 " as a port.
  const port = values.port === undefined ? undefined : /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : NaN;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new HookError('BAD_USAGE', `--port ${values.port}: not a port (1-65535)`);
  }
  // A real run under --json would print nothing, not even its verdict: the console would show an empty hook.
  if (values.json && !values.check) {
    throw new HookError('BAD_USAGE', '--json goes with --check only (a real run prints its progress and verdict)');
  }
  return {
    check: values.check,
    json: values.json,
    port,
    config: values.config,
    help: values.help,
    version: values.version,
  };
}
