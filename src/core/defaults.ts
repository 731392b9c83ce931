// The hooks' timing tunables, in one block: what each waits for and how often it looks. Config durations
// (stop.grace, start.timeout, health.*) are the operator's; these are portproof's own.

/** How often a wait re-checks its condition: short enough to see a port released within 100 ms. */
export const DefaultPollMs = 50;

/** How often a wait prints that it is still waiting. */
export const DefaultProgressEveryMs = 5000;

/** How long to wait for the kernel to reap a process after SIGKILL. */
export const DefaultKillWaitMs = 5000;

/** While the port stays held and the known holders still run, rescan its owners at most this often. */
export const DefaultHolderRescanMs = 500;

/** How long the start hook gives a process it started, and gave up on, to exit before SIGKILL. */
export const DefaultAbandonGraceMs = 3000;

/** Once the start command has exited 0, how often the hook re-reads its session while waiting for the bind. */
export const DefaultSessionRescanMs = 250;

/** How long an interrupted start gives what it started to exit before SIGKILL: the agent may kill the hook soon. */
export const DefaultInterruptGraceMs = 1000;

/** During health.settle, how often the recorded process and its ownership of the port are re-read: an exit shows. */
export const DefaultSettleWatchMs = 250;

/** How long to wait for the server to accept a connection before asking /proc who owns its side. */
export const DefaultAcceptWaitMs = 1000;

/** The least time a restore gets to reload nginx, even when the hook's own deadline is nearly spent. */
export const DefaultMinRestoreMs = 3000;

/** How long a second hook waits for the first before failing. */
export const DefaultLockWaitMs = 10_000;

/** How often a waiter looks at the lock again. */
export const DefaultLockPollMs = 100;

/**
 * An empty or unparsable lock file is taken over only once it is this old. This release never leaves one (the lock
 * appears with its content in one step), but an older release created the file first and wrote it after: a lock
 * that young may be a live holder's, mid-write. Five seconds is ages for one write and short next to the 10 s wait.
 */
export const DefaultUnreadableLockStaleMs = 5000;

/** Under systemd, how often a wait asks systemd about the unit (each is a systemctl run); /proc is read in between. */
export const DefaultUnitPollMs = 250;

/** How long one systemctl call that does not wait for a job (show, enable, daemon-reload) may take. */
export const DefaultSystemctlTimeoutMs = 30_000;

/** How long systemd waits before restarting a crashed app: long enough for a start hook to see the first exit. */
export const DefaultRestartDelaySec = 5;

/** Between two samples of /proc while a request runs through nginx: enough to leave nginx and the app the CPU. */
export const DefaultSampleGapMs = 1;

/** Requests sent through nginx after a switch, each of which must be seen reaching the new app. */
export const DefaultProofRequests = 3;

/**
 * How long the proof keeps sending requests through nginx: on a host under heavy load without upstream keep-alive
 * each sample of /proc is slow and most connections go unseen; what was seen by then is the verdict.
 */
export const DefaultProofBudgetMs = 10_000;

/** While a stop drains, how often the version's connections are classified again (each look runs `ss` once). */
export const DefaultDrainPollMs = 250;

/** A connection that sent nothing for this long, with nothing queued, is idle: a keep-alive between requests. */
export const DefaultDrainQuietMs = 1000;

/** Data flowing out this long after the last data received is a stream, no longer a request's answer. */
export const DefaultStreamAfterMs = 2000;
/**
 * How long an interrupted switch waits for nginx's new workers after its undo's reload: agent 2 sends SIGKILL 5 s
 * after SIGTERM, and the verdict must come before that (the reload itself runs on regardless).
 */
export const DefaultUndoConfirmMs = 3000;

/** How often a systemctl call lost to a bus reconnect (daemon-reexec) is tried again, and the pause between. */
export const DefaultSystemctlBusRetries = 8;
export const DefaultSystemctlBusRetryPauseMs = 500;
