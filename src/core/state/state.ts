import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from '../atomic-write.ts';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import type { ProcessInfo } from '../procfs/types.ts';

/** The state format this release writes; older and newer ones are read alike (unknown fields kept, never fatal). */
export const StateSchemaVersion = 1;

const recordSchema = z.object({
  pid: z.int().check(z.positive()),
  startTime: z.int().check(z.nonnegative()),
  bootId: z.string(),
  command: z._default(z.string(), ''),
  user: z._default(z.string(), ''),
  startedAt: z._default(z.string(), ''),
  deploymentId: z._default(z.nullable(z.string()), null),
  log: z._default(z.string(), ''),
  // The release (under <appDir>/releases) the app runs from, when portproof made one.
  release: z.optional(z.string()),
  // Under systemd: the unit, this run of it (a restart changes it), its restart count then, and its cgroup.
  unit: z.optional(z.string()),
  invocationId: z.optional(z.string()),
  restarts: z.optional(z.int().check(z.nonnegative())),
  cgroup: z.optional(z.string()),
});

/** The process a start hook launched on a port. */
export type StartRecord = z.output<typeof recordSchema>;

/** What the hooks remember between runs. */
export interface AppState {
  processes: Record<string, StartRecord>;
  /** Port of the most recent ApplicationStart: the one ValidateService checks. */
  lastStarted: number | null;
  /** Blue/green: the port nginx points at after the last verified switch, and the one before it. */
  live: number | null;
  previous: number | null;
  /**
   * Blue/green: a switch began (written before the include) and has not been recorded or undone since. While it stays,
   * nginx may serve either port: a hook killed mid-switch left it.
   */
  switching: SwitchMark | null;
  /** Why the file could not be used, when it could not (missing is not a problem). */
  problem: string | null;
  /** The file's fields as read, kept so that a rewrite does not drop what a newer release wrote. */
  raw: Record<string, unknown>;
}

/** A switch in progress: nginx was being moved from `from` (null: no include yet) to `to`, since `at` (ISO time). */
export interface SwitchMark {
  from: number | null;
  to: number;
  at: string;
}

/** Where an app's state, lock and logs live. */
export function appStateDir(stateDir: string, app: string): string {
  return path.join(stateDir, app);
}

/** Read state.json leniently: missing means empty, corrupt means empty with the reason in `problem`. */
export function readState(dir: string): AppState {
  const file = path.join(dir, 'state.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A first deployment has no state yet; anything else is reported, and no record is trusted.
    const problem =
      code === 'ENOENT' ? null : `state file ${file} is unreadable or corrupt (${(error as Error).message})`;
    return emptyState(problem);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return emptyState(`state file ${file} is not an object`);
  const object = parsed as Record<string, unknown>;
  const processes: Record<string, StartRecord> = {};
  const opaque: Record<string, unknown> = {};
  for (const [port, value] of Object.entries((object.processes as Record<string, unknown> | undefined) ?? {})) {
    const record = recordSchema.safeParse(value);
    // A record this release cannot understand is never trusted and never fatal: kept for the release that wrote it.
    if (record.success) processes[port] = record.data;
    else opaque[port] = value;
  }
  const raw: Record<string, unknown> = { ...object, processes: opaque };
  return {
    processes,
    lastStarted: portOrNull(object.lastStarted),
    live: portOrNull(object.live),
    previous: portOrNull(object.previous),
    switching: readSwitchMark(object.switching),
    problem: null,
    raw,
  };
}

/**
 * Write state.json atomically, keeping fields this release does not know. A failure (no space, no inodes, read-only
 * file system) is a HookError naming the file and the errno's meaning; the old file is then left as it was.
 */
export function writeState(dir: string, state: AppState): void {
  const file = path.join(dir, 'state.json');
  const doc = {
    ...state.raw,
    schema: Math.max(StateSchemaVersion, Number(state.raw.schema) || 0),
    processes: { ...((state.raw.processes as object | undefined) ?? {}), ...state.processes },
    lastStarted: state.lastStarted,
    live: state.live,
    previous: state.previous,
    switching: state.switching,
    updatedAt: new Date().toISOString(),
  };
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const message = `cannot write ${file}: ${describeFsError(error)}`;
    throw new HookError('STATE_WRITE_FAILED', message, { path: file, errno }, { cause: error });
  }
}

/** The process ApplicationStart recorded on `port`, if any. */
export function findRecord(state: AppState, port: number): StartRecord | undefined {
  return state.processes[String(port)];
}

/** The fields of a record that name a running process, as /proc shows it now. */
export function describeRun(info: ProcessInfo): Pick<StartRecord, RunField> {
  const { pid, startTime, bootId, command, user } = info;
  return { pid, startTime, bootId, command, user, startedAt: info.startedAt.toISOString() };
}

type RunField = 'pid' | 'startTime' | 'bootId' | 'command' | 'user' | 'startedAt';

/** Record the process a start launched on `port` (it is the port ValidateService checks next). */
export function recordStart(state: AppState, port: number, record: StartRecord): void {
  state.processes[String(port)] = record;
  state.lastStarted = port;
}

/** Replace the record on `port` with the run now there (a rollback adopting a restart): not a new start. */
export function replaceRecord(state: AppState, port: number, record: StartRecord): void {
  state.processes[String(port)] = record;
}

/** Forget the process recorded on `port` (it was stopped); false when there was none. */
export function forgetPort(state: AppState, port: number): boolean {
  if (!findRecord(state, port)) return false;
  delete state.processes[String(port)];
  return true;
}

/** The state after a verified nginx switch to `live`, with `previous` kept for rollback. */
export function recordSwitch(state: AppState, live: number, previous: number | null): AppState {
  return { ...state, previous, live, switching: null };
}

/** The state with a switch from `from` to `to` begun: written before the include, so an interrupt leaves a trace. */
export function markSwitching(state: AppState, from: number | null, to: number): AppState {
  return { ...state, switching: { from, to, at: new Date().toISOString() } };
}

/** The state with the switch mark cleared: the switch was undone and nginx confirmed back on the old include. */
export function clearSwitching(state: AppState): AppState {
  return { ...state, switching: null };
}

function emptyState(problem: string | null): AppState {
  return { processes: {}, lastStarted: null, live: null, previous: null, switching: null, problem, raw: {} };
}

function readSwitchMark(value: unknown): SwitchMark | null {
  if (typeof value !== 'object' || value === null) return null;
  const mark = value as Record<string, unknown>;
  const to = portOrNull(mark.to);
  // A mark this release cannot read still says a switch was interrupted: kept as a switch to an unknown port would
  // be, but a port is needed to say anything, so an unreadable one is dropped (the include is then the evidence).
  if (to === null) return null;
  return { from: portOrNull(mark.from), to, at: typeof mark.at === 'string' ? mark.at : '' };
}

function portOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536 ? value : null;
}
