import fs from 'node:fs';
import path from 'node:path';

// Where the app's program is, found as the kernel will find it for the app: PATH as the app sees it, the app's user.

/** Who the app runs as: a uid with its groups, or null for the hook's own identity. */
export interface RunAs {
  name: string;
  uid: number;
  gids: number[];
}

/** Linux follows at most this many `#!` interpreters in a chain (BINPRM_MAX_RECURSION) before ELOOP. */
const MaxInterpreters = 4;

/** What a chain of `#!` interpreters and env lookups longer than the kernel follows is said to be. */
const LoopProblem = `more than ${MaxInterpreters} #! interpreters in a chain (ELOOP)`;

/** Linux reads a `#!` line from this many first bytes of the file (BINPRM_BUF_SIZE). */
const ShebangBytes = 256;

/** Why a file found on the way cannot run the app; `final` when exec succeeds and the failure comes after it. */
interface Unrunnable {
  problem: string;
  final: boolean;
}

/**
 * The program's file, or why there is none: a name with a slash is taken relative to cwd, else looked up in PATH as
 * execvp does for the app (a file the user cannot reach, or whose `#!` interpreter is missing, is passed over). A
 * file is found only when exec as that user can run it: every directory on its way searchable, executable, and its
 * `#!` interpreter (and the program `#!/usr/bin/env NAME` looks up in PATH) likewise.
 */
export function findProgram(
  program: string,
  cwd: string,
  pathVar: string,
  runAs: RunAs | null,
): { file: string } | { problem: string } {
  return searchProgram(program, cwd, pathVar, runAs, 0);
}

function searchProgram(
  program: string,
  cwd: string,
  pathVar: string,
  runAs: RunAs | null,
  depth: number,
): { file: string } | { problem: string } {
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    if (!isRegularFile(file)) return { problem: `program ${file} not found` };
    const unrunnable = checkRunnable(file, cwd, pathVar, runAs, depth);
    return unrunnable ? { problem: unrunnable.problem } : { file };
  }
  let passedOver: string | null = null;
  for (const dir of pathVar.split(':')) {
    // An empty PATH entry means the working directory, as execvp reads it.
    const file = path.resolve(cwd, dir, program);
    if (!isRegularFile(file)) continue;
    const unrunnable = checkRunnable(file, cwd, pathVar, runAs, depth);
    if (unrunnable === null) return { file };
    // exec ran it and it failed after: execvp stops at it. EACCES and ENOENT make execvp try the next entry.
    if (unrunnable.final) return { problem: unrunnable.problem };
    passedOver ??= unrunnable.problem;
  }
  if (passedOver) return { problem: passedOver };
  return { problem: `program "${program}" not found in PATH (${pathVar})` };
}

/** Why exec as runAs would not run this existing file, or null when it would (its interpreters checked in turn). */
function checkRunnable(
  file: string,
  cwd: string,
  pathVar: string,
  runAs: RunAs | null,
  depth: number,
): Unrunnable | null {
  const who = runAs ? ` for user ${runAs.name}` : '';
  const unreachable = checkReachable(file, runAs);
  if (unreachable) return { problem: unreachable, final: false };
  if (!canExecute(file, runAs)) return { problem: `program ${file} is not executable${who}`, final: false };
  const shebang = readShebang(file);
  if (shebang === null) return null;
  if (depth >= MaxInterpreters) {
    return { problem: `program ${file}: ${LoopProblem}`, final: false };
  }
  const interpreter = path.resolve(cwd, shebang.interpreter);
  // A name with control characters (a \r from a Windows editor) is shown quoted, or the line cleaner hides them.
  const shown = /[\x00-\x1f]/.test(shebang.interpreter) ? JSON.stringify(shebang.interpreter) : shebang.interpreter;
  const says = `program ${file} starts with #!${shown}`;
  if (!isRegularFile(interpreter)) return { problem: `${says}, which does not exist`, final: false };
  const inner = checkRunnable(interpreter, cwd, pathVar, runAs, depth + 1);
  // A chain too long is said once, at its top: not nested as deep as it goes.
  if (inner?.problem.endsWith(LoopProblem)) return { problem: `program ${file}: ${LoopProblem}`, final: inner.final };
  if (inner) return { problem: `${says}: ${inner.problem}`, final: inner.final };
  // The interpreter runs, then opens the script by name as the user: that needs read permission.
  if (!canAccess(file, runAs, 0o4)) return { problem: `program ${file} is a script not readable${who}`, final: true };
  const looked = shebang.argument;
  if (path.basename(interpreter) === 'env' && looked && /^[^-=/\s][^=\s]*$/.test(looked)) {
    // env looks its program up in the app's PATH, as the user: execvp again, after exec succeeded.
    const found = searchProgram(looked, cwd, pathVar, runAs, depth + 1);
    if ('problem' in found && found.problem.endsWith(LoopProblem)) {
      return { problem: `program ${file}: ${LoopProblem}`, final: true };
    }
    if ('problem' in found) return { problem: `${says} ${looked}: ${found.problem}`, final: true };
  }
  return null;
}

/** The `#!` line's interpreter and its one optional argument, as the kernel splits it; null for a binary. */
function readShebang(file: string): { interpreter: string; argument: string | null } | null {
  const head = Buffer.alloc(ShebangBytes);
  let read = 0;
  let fd: number | null = null;
  try {
    // Non-blocking: a file swapped for a FIFO since its stat must not hang the hook.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    read = fs.readSync(fd, head, 0, ShebangBytes, 0);
  } catch {
    // Unreadable even as root: the kernel's own read is the judge at exec; nothing more is known here.
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  const text = head.subarray(0, read).toString('latin1');
  if (!text.startsWith('#!')) return null;
  // The kernel strips spaces and tabs only: a Windows line ending's \r stays part of the interpreter's name.
  const line = text
    .slice(2)
    .split('\n')[0]!
    .replace(/^[ \t]+|[ \t]+$/g, '');
  const [interpreter, ...rest] = line.split(/[ \t]+/);
  if (!interpreter) return null;
  return { interpreter, argument: rest.length > 0 ? rest.join(' ') : null };
}

/**
 * Why the user cannot reach the file, or null: search (x) on every directory on its path and on its target's, as
 * exec needs. The hook runs as root and sees through /root; the app's user may not (/root/.pyenv/shims/python3).
 */
function checkReachable(file: string, runAs: RunAs | null): string | null {
  // Root searches every directory whatever its mode (CAP_DAC_OVERRIDE).
  if (runAs === null || runAs.uid === 0) return null;
  for (const target of new Set([file, fs.realpathSync(file)])) {
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      if (!canExecute(dir, runAs)) {
        return `program ${file} cannot be reached by user ${runAs.name}: no search (x) permission on ${dir}`;
      }
      if (dir === '/') break;
    }
  }
  return null;
}

function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    // Missing, or a directory on the way cannot be searched: either way the kernel cannot run it from here.
    return false;
  }
}

/** Whether the user may execute the file (or search the directory), by its mode bits, as the kernel decides. */
export function canExecute(file: string, runAs: RunAs | null): boolean {
  return canAccess(file, runAs, 0o1);
}

/** Whether the user has this permission (0o4 read, 0o1 execute) on the file by its mode bits; root needs an x bit. */
function canAccess(file: string, runAs: RunAs | null, bit: 0o4 | 0o1): boolean {
  if (runAs === null) {
    try {
      fs.accessSync(file, bit === 0o1 ? fs.constants.X_OK : fs.constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }
  const { mode, uid, gid } = fs.statSync(file);
  if (runAs.uid === 0) return bit === 0o4 || (mode & 0o111) !== 0;
  if (uid === runAs.uid) return (mode & (bit << 6)) !== 0;
  if (runAs.gids.includes(gid)) return (mode & (bit << 3)) !== 0;
  return (mode & bit) !== 0;
}

/** An account as the kernel will judge it once the app runs as it: its uid and every group it is in. */
export function runAsOf(account: { name: string; uid: number; gid: number }, groupFile = '/etc/group'): RunAs {
  return { name: account.name, uid: account.uid, gids: readUserGroups(account.name, account.gid, groupFile) };
}

/** The groups a user is in: the primary group and every /etc/group line that lists the user. */
export function readUserGroups(name: string, primaryGid: number, groupFile = '/etc/group'): number[] {
  const gids = new Set([primaryGid]);
  let text = '';
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    // No group file: the primary group is all that is known.
  }
  for (const line of text.split('\n')) {
    const [, , gid, members] = line.split(':');
    if (gid !== undefined && members?.split(',').includes(name)) gids.add(Number(gid));
  }
  return [...gids];
}
