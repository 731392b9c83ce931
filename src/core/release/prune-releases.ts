import fs from 'node:fs';
import path from 'node:path';
import { releasesDir } from './make-release.ts';
import { removeTree } from './remove-tree.ts';

/** What pruning did: the releases kept (newest first), those deleted, and what could not be (with the reason). */
export interface PruneReport {
  kept: string[];
  deleted: string[];
  left: string[];
}

/** The releases of an app, newest first by the time each was made, with unfinished builds (.tmp-…) apart. */
export function listReleases(appDir: string): { names: string[]; unfinished: string[] } {
  const root = releasesDir(appDir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (error) {
    // No release made yet (a host that always ran from app.cwd elsewhere).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], unfinished: [] };
    throw error;
  }
  const dirs = entries.filter((e) => e.isDirectory());
  const made = (name: string) => fs.statSync(path.join(root, name)).mtimeMs;
  const names = dirs
    .map((e) => e.name)
    .filter((n) => !n.startsWith('.'))
    .sort((a, b) => made(b) - made(a));
  return { names, unfinished: dirs.map((e) => e.name).filter((n) => n.startsWith('.tmp-')) };
}

/**
 * Delete the releases no one needs, after a verified switch: kept are those `inUse` names (the recorded apps' —
 * live and previous — and any a running process has as its working directory), the newest other one while fewer
 * than two are in use (in place: the previous release), and `keep` more. Unfinished builds of other hooks go too.
 */
export function pruneReleases(appDir: string, inUse: Set<string>, keep: number): PruneReport {
  const { names, unfinished } = listReleases(appDir);
  const running = findRunningReleases(appDir);
  const used = names.filter((n) => inUse.has(n) || running.has(n));
  let spare = Math.max(0, 2 - used.length) + keep;
  const kept: string[] = [];
  const deleted: string[] = [];
  for (const name of names) {
    if (used.includes(name) || spare-- > 0) kept.push(name);
    else deleted.push(name);
  }
  const root = releasesDir(appDir);
  const left: string[] = [];
  for (const name of deleted) left.push(...removeRelease(root, name));
  // A build left by a hook killed mid-copy (its own PID in the name): gone unless that hook still runs.
  for (const name of unfinished.filter((n) => !isAlive(Number(/-(\d+)$/.exec(n)?.[1])))) {
    left.push(...removeTree(root, name).left);
  }
  return { kept, deleted, left };
}

/**
 * Move a release out of its name first (one rename), then delete it by descriptor: a release directory is whole or
 * absent, and a link the app user swaps into it is removed as a link, never followed. What stayed, with the reason.
 */
function removeRelease(root: string, name: string): string[] {
  const trash = `.tmp-delete-${name}-${process.pid}`;
  fs.renameSync(path.join(root, name), path.join(root, trash));
  return removeTree(root, trash).left;
}

/** The releases some running process has as its working directory (or below it), whoever started it. */
export function findRunningReleases(appDir: string, procRoot = '/proc'): Set<string> {
  const root = `${releasesDir(appDir)}/`;
  const found = new Set<string>();
  for (const pid of fs.readdirSync(procRoot).filter((name) => /^\d+$/.test(name))) {
    let cwd: string;
    try {
      cwd = fs.readlinkSync(path.join(procRoot, pid, 'cwd'));
    } catch {
      // Gone since the listing, or a kernel thread: it runs from no release.
      continue;
    }
    if (cwd.startsWith(root)) found.add(cwd.slice(root.length).split('/')[0]!);
  }
  return found;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return fs.existsSync(`/proc/${pid}`);
}
