import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { readProcessInfo } from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { quoteReason, readLogTail } from './log-tail.ts';
import { describeExit } from './describe.ts';
import { openAppLog } from './app-log.ts';
import { findAppAccount, runAsAccount, type Account } from './user.ts';
import { findProgram, runAsOf } from '../config/find-program.ts';
import { describeSpawnFailure } from './spawn-failure.ts';

/** How a started process ended, once it has. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/** A freshly started app: its identity, its log, and a way to know whether it has already exited. */
export interface LaunchedApp {
  info: ProcessInfo;
  /** Who it runs as: app.user when the hook dropped to it (setpriv may not have switched yet when info was read). */
  user: string;
  argv: string[];
  logFile: string;
  /** Where this start's output begins in the log file. */
  logOffset: number;
  /** The value of StartMarkVariable in the app's environment: what a daemon it forks inherits. */
  startMark: string;
  /** Date.now() just before the spawn: time to bind is counted from here. */
  spawnedAt: number;
  exited(): ExitStatus | null;
  /** Stop tracking the child so the hook can exit while the app runs on. */
  detach(): void;
}

/** The variable that carries a start's mark into the app's environment. */
export const StartMarkVariable = 'PORTPROOF_START';

/** True when the process's environment carries this start's mark (root reads any process's environ). */
export function hasStartMark(pid: number, mark: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${StartMarkVariable}=${mark}`);
  } catch {
    // Gone, or not readable as this user: not shown to be this start's.
    return false;
  }
}

/**
 * Start the app detached: its own session, stdin from /dev/null, stdout and stderr appended to its log (never the
 * hook's pipes, or the agent waits for them to close), as app.user when the hook runs as root.
 */
export async function launchApp(config: LoadedConfig, port: number): Promise<LaunchedApp> {
  const { argv, logFile } = resolvePort(config, port);
  const account = process.getuid?.() === 0 ? findAppAccount(config.app.user) : null;
  // A mark unique to this start: a daemon that left the session still carries it (abandon proves it by it).
  const startMark = `${process.pid}-${Date.now()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...config.app.env,
    PORT: String(port),
    [StartMarkVariable]: startMark,
  };
  if (account) Object.assign(env, { USER: account.name, LOGNAME: account.name, HOME: account.home });
  // As root with app.user: setpriv drops to the user with its supplementary groups, then execs the app in place.
  // setpriv keeps root's capabilities until its exec, so its own PATH search reaches, and execs, a file app.user
  // cannot (a pyenv shim under /root/: its interpreter then fails as the user, exit 126). It is given the file found
  // as app.user finds it, as preflight did.
  const spawned = account
    ? runAsAccount(account, findAccountProgram(argv, config.app.cwd, env.PATH, account, port))
    : argv;
  const log = openAppLog(logFile, account);
  const logOffset = log.offset;
  let exit: ExitStatus | null = null;
  let child: ChildProcess;
  const spawnedAt = Date.now();
  try {
    child = spawn(spawned[0]!, spawned.slice(1), {
      cwd: config.app.cwd,
      env,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
  } catch (error) {
    // Node throws (not emits) for E2BIG, a NUL byte and the like: preflight checks for those, this names any other.
    throw spawnFailedError(argv, spawned[0]!, config.app.cwd, env.PATH, port, error as Error);
  } finally {
    fs.closeSync(log.fd);
  }
  child.on('exit', (code, signal) => (exit = { code, signal }));
  child.on('error', (error) => (exit = { code: null, signal: null, error }));
  const info = child.pid === undefined ? null : readProcessInfo(child.pid);
  if (info === null) {
    // It died before /proc could be read (or never started): wait for Node to report how.
    await new Promise((resolve) => (exit ? resolve(undefined) : child.once('close', resolve).once('error', resolve)));
    // Assigned by the listeners above: TypeScript cannot see that the wait ran them.
    const failed = exit as ExitStatus | null;
    if (failed?.error) throw spawnFailedError(argv, spawned[0]!, config.app.cwd, env.PATH, port, failed.error);
    throw exitedAtStartError(argv, port, exit, logFile, logOffset, account?.name, child.pid);
  }
  return {
    info,
    user: account?.name ?? info.user,
    argv,
    logFile,
    logOffset,
    startMark,
    spawnedAt,
    exited: () => exit,
    detach: () => {
      child.removeAllListeners();
      child.unref();
    },
  };
}

/** argv with its program as the file app.user's exec would run, or the start's error naming why there is none. */
function findAccountProgram(
  argv: string[],
  cwd: string,
  pathVar: string | undefined,
  account: Account,
  port: number,
): string[] {
  const found = findProgram(argv[0]!, cwd, pathVar ?? DefaultPath, runAsOf(account));
  // Preflight found it: what changed since is named, before anything is spawned.
  if ('problem' in found) throw new HookError('START_EXITED', `could not start ${argv[0]}: ${found.problem}`, { port });
  return [found.file, ...argv.slice(1)];
}

/** The error for a start the kernel refused: what is missing or out of reach, found again as spawn looked for it. */
function spawnFailedError(
  argv: string[],
  spawned: string,
  cwd: string,
  pathVar: string | undefined,
  port: number,
  error: Error,
): HookError {
  const reason = describeSpawnFailure(error, spawned, cwd, pathVar ?? DefaultPath);
  // As root with app.user the hook spawns setpriv, which execs the app: a refusal then is setpriv's own.
  const what = spawned === argv[0] ? argv[0] : `${argv[0]} through ${spawned}`;
  return new HookError('START_EXITED', `could not start ${what}: ${reason}`, { port });
}

/** The search path exec uses when the environment has no PATH (glibc's and libuv's default). */
const DefaultPath = '/usr/local/bin:/usr/bin:/bin';

/** The error for a start that ended before the app listened: exit code or signal first, then its log. */
export function exitedAtStartError(
  argv: string[],
  port: number,
  exit: ExitStatus | null,
  logFile: string,
  logOffset: number,
  appUser: string | undefined,
  pid: number | undefined,
  /** What became of the processes it left in its session, when it exited 0 leaving some. */
  leftBehind = '',
): HookError {
  const program = path.basename(argv[0]!);
  if (exit?.error) {
    const code = (exit.error as NodeJS.ErrnoException).code;
    // Node's own argument errors (ERR_*) say it in their message; a system error is named in words with its errno.
    const system = code?.startsWith('ERR_') ? exit.error.message : describeFsError(exit.error);
    return new HookError('START_EXITED', `could not start ${argv[0]}: ${system}`, { port });
  }
  const how = `${describeExit(exit ?? { code: null, signal: null })}${leftBehind}`;
  const tail = readLogTail(logFile, logOffset, appUser);
  const quote = quoteReason(tail) || ' (its log is empty)';
  const evidence = tail.length > 0 ? [`last lines of ${logFile}:`, ...tail.map((l) => `  ${l}`)] : [];
  return new HookError(
    'START_EXITED',
    `new PID ${pid ?? '?'} (${program}) ${how} before listening on port ${port}${quote}`,
    { port, pid, exitCode: exit?.code ?? null, signal: exit?.signal ?? null, evidence },
  );
}
