// One error type for every way a hook can fail; its message is the verdict a person reads in the console.

/** Stable codes, one meaning each: scripts and the JSON log match on these, people read the message. */
export type HookErrorCode =
  /** portproof.yml is invalid or implies something the host cannot do. */
  | 'BAD_CONFIG'
  /** The command line is wrong. */
  | 'BAD_USAGE'
  /** Another hook holds the app's lock. */
  | 'LOCKED'
  /** The lock file cannot be read or written. */
  | 'LOCK_FAILED'
  /** The port is still held after the grace period and SIGKILL. */
  | 'STOP_FAILED'
  /** A listener on the port has an owner this user cannot read: nothing is signalled blind. */
  | 'OWNER_UNKNOWN'
  | 'START_EXITED'
  | 'START_TIMEOUT'
  | 'NOT_OWNER'
  /** The recorded process is missing or not trusted (another boot, another user). */
  | 'STATE_INVALID'
  /** The state directory may be written by others: the host's setup is wrong. */
  | 'UNSAFE_STATE'
  /** The state directory cannot be read or created. */
  | 'STATE_DIR_FAILED'
  | 'STATE_WRITE_FAILED'
  | 'UNHEALTHY'
  | 'NGINX_FAILED'
  /** The hook was signalled, or gave up before the appspec timeout. */
  | 'INTERRUPTED'
  | 'INCLUDE_UNKNOWN'
  | 'INCLUDE_UNSAFE'
  /** nginx.include is not a file nginx loads (`nginx -T`): a switch there would change nothing it serves. */
  | 'INCLUDE_NOT_READ'
  | 'LIVE_PORT_CONFLICT'
  /** A unit portproof did not write holds the port, which systemd would start again: refused, never fought. */
  | 'FOREIGN_UNIT'
  /** systemctl refused or failed (a unit that cannot be written, started, stopped or enabled). */
  | 'SYSTEMD_FAILED'
  /** /proc cannot be read (not mounted, or an error other than a vanished process or a permission). */
  | 'PROC_UNREADABLE'
  /** /proc holds text in a format portproof does not read (a kernel it does not know). */
  | 'PROC_MALFORMED'
  /** The release portproof runs the app from cannot be made, or is gone (a rollback to it is refused). */
  | 'RELEASE_FAILED'
  | 'RELEASE_GONE'
  /** Anything else thrown: a portproof bug. */
  | 'INTERNAL';

/** Evidence a failure carries; every field optional, all of it logged. */
export interface HookErrorContext {
  port?: number;
  pid?: number;
  url?: string;
  status?: number;
  attempts?: number;
  durationMs?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Lines shown under the verdict (log tail, nginx's stderr, who holds the port). */
  evidence?: string[];
  [key: string]: unknown;
}

const ExitTwo = new Set<HookErrorCode>([
  'BAD_CONFIG',
  'BAD_USAGE',
  'UNSAFE_STATE',
  'STATE_DIR_FAILED',
  'INCLUDE_NOT_READ',
  'FOREIGN_UNIT',
]);

/** A failed verification or bad input, with the most specific reason first in its message. */
export class HookError extends Error {
  override readonly name = 'HookError';
  readonly code: HookErrorCode;
  readonly context: HookErrorContext;

  constructor(code: HookErrorCode, message: string, context: HookErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = context;
  }

  /**
   * Exit code per the output contract: 2 for bad config or usage, for a state directory others could write or this
   * user cannot make (a hook run as non-root), and for a unit of the host's own on the port (the host's setup is
   * wrong, nothing was touched, a retry cannot help), 1 for everything else.
   */
  get exitCode(): 1 | 2 {
    return ExitTwo.has(this.code) ? 2 : 1;
  }
}
