import fs from 'node:fs';
import { findProgram } from '../config/find-program.ts';
import { describeFsError } from '../fs-error.ts';

// spawn(2)'s errno names a symptom, not a file: ENOENT is said for a missing program, a missing `#!` interpreter, a
// missing dynamic loader and a missing working directory alike; EACCES for any directory on the way not searchable.

/**
 * Why the kernel would not start `program` (as the hook, which is who spawns it: setpriv drops to app.user after),
 * in words naming the file at fault, with the errno last: never "not found" for a program that exists.
 */
export function describeSpawnFailure(error: Error, program: string, cwd: string, pathVar: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  // Node's own argument errors (ERR_*) say it in their message.
  if (code?.startsWith('ERR_')) return error.message;
  const errno = describeFsError(error);
  const cwdProblem = checkWorkingDirectory(cwd);
  const said = code ? `exec said ${code}` : errno;
  if (cwdProblem) return `${cwdProblem} (${said})`;
  const found = findProgram(program, cwd, pathVar, null);
  if ('problem' in found) return `${found.problem} (${said})`;
  if (code === 'ENOENT') {
    // The file and every #! interpreter exist: what exec still missed is the ELF's own loader (PT_INTERP).
    const why = 'the dynamic loader it names is missing (a binary built for another system?)';
    return `${found.file} exists, but exec said ${errno}: ${why}`;
  }
  return `exec of ${found.file} failed: ${errno}`;
}

/** Why the working directory cannot be entered (preflight checked it; a release removed since is the rest), or null. */
function checkWorkingDirectory(cwd: string): string | null {
  try {
    if (fs.statSync(cwd).isDirectory()) return null;
    return `its working directory ${cwd} is not a directory`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `its working directory ${cwd} does not exist`;
    return `its working directory ${cwd} cannot be entered: ${describeFsError(error)}`;
  }
}
