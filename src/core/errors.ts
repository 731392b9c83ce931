// One error type for every way a hook can fail; its message is the verdict a person reads in the console.

/** Stable codes: scripts and the JSON log match on these, people read the message. */
export type HookErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_USAGE'
  | 'LOCKED'
  | 'STOP_FAILED'
  | 'START_EXITED'
  | 'START_TIMEOUT'
  | 'NOT_OWNER'
  | 'STATE_INVALID'
  | 'UNSAFE_STATE'
  | 'UNHEALTHY'
  | 'NGINX_FAILED'
  | 'DEADLINE'
  | 'INTERRUPTED'
  | 'UNREADABLE'
  | 'INCLUDE_UNKNOWN'
  | 'INCLUDE_UNSAFE'
  | 'LIVE_PORT_CONFLICT'
  | 'STATE_WRITE_FAILED';

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
   * Exit code per the output contract: 2 for bad config or usage, and for a state directory others could write (the
   * host's setup is wrong, nothing was touched, a retry cannot help), 1 for everything else.
   */
  get exitCode(): 1 | 2 {
    return this.code === 'BAD_CONFIG' || this.code === 'BAD_USAGE' || this.code === 'UNSAFE_STATE' ? 2 : 1;
  }
}
