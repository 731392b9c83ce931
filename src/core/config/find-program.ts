import fs from 'node:fs';
import path from 'node:path';

// Where the app's program is, found as the kernel will find it for the app: PATH as the app sees it, the app's user.

/** Who the app runs as: a uid with its groups, or null for the hook's own identity. */
export interface RunAs {
  name: string;
  uid: number;
  gids: number[];
}

/** The program's file, or why there is none: a name with a slash is taken relative to cwd, else looked up in PATH. */
export function findProgram(
  program: string,
  cwd: string,
  pathVar: string,
  runAs: RunAs | null,
): { file: string } | { problem: string } {
  const who = runAs ? ` for user ${runAs.name}` : '';
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    if (!isRegularFile(file)) return { problem: `program ${file} not found` };
    if (!canExecute(file, runAs)) return { problem: `program ${file} is not executable${who}` };
    return checkReachable(file, runAs);
  }
  let notExecutable: string | null = null;
  for (const dir of pathVar.split(':')) {
    // An empty PATH entry means the working directory, as execvp reads it.
    const file = path.resolve(cwd, dir, program);
    if (!isRegularFile(file)) continue;
    if (canExecute(file, runAs)) return checkReachable(file, runAs);
    notExecutable ??= file;
  }
  if (notExecutable) return { problem: `program ${notExecutable} is not executable${who}` };
  return { problem: `program "${program}" not found in PATH (${pathVar})` };
}

/**
 * The file, if the user can reach it: search (x) on every directory on its path and on its target's, as exec needs.
 * The hook runs as root and sees through /root; the app's user may not (/root/.pyenv/shims/python3 exits 126).
 */
function checkReachable(file: string, runAs: RunAs | null): { file: string } | { problem: string } {
  if (runAs === null) return { file };
  for (const target of new Set([file, fs.realpathSync(file)])) {
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      if (!canExecute(dir, runAs)) {
        return {
          problem: `program ${file} cannot be reached by user ${runAs.name}: no search (x) permission on ${dir}`,
        };
      }
      if (dir === '/') break;
    }
  }
  return { file };
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
  if (runAs === null) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  const { mode, uid, gid } = fs.statSync(file);
  if (runAs.uid === 0) return (mode & 0o111) !== 0;
  if (uid === runAs.uid) return (mode & 0o100) !== 0;
  if (runAs.gids.includes(gid)) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
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
