import fs from 'node:fs';
import path from 'node:path';
import { HookNames, type Arch } from './paths.ts';

/** What goes into a deployable revision directory. */
export interface BundleRequest {
  arch: Arch;
  out: string;
  appspec: string;
  config: string;
  /** Where the compiled hooks for `arch` are. */
  hooksDir: string;
  /** What to do when one is missing, for the way this CLI was installed (a release, a checkout). */
  hooksHint: string;
  /** Files and directories for app/: a path inside `base` keeps its relative path there, any other its name. */
  files: string[];
  base: string;
  force: boolean;
}

/** What a revision holds: its files, relative to its root, and their bytes. */
export interface WrittenBundle {
  files: string[];
  bytes: number;
}

/** Where the app's own files go in a revision: the example appspec's `files:` source, so the hooks are not copied. */
export const AppFilesDir = 'app';

/**
 * Assemble a revision directory that `aws deploy push` or zip/tar can ship: appspec.yml, portproof.yml, hooks/ for
 * one arch (plain files, mode 755: the agent runs them directly), and the files the user names under app/, which
 * the appspec's `files:` copies to the destination (the hooks run from the agent's unpacked copy and are not copied
 * a third time). Directories are copied whole, links as links.
 */
export function assembleBundle(request: BundleRequest): WrittenBundle {
  for (const file of [request.appspec, request.config, ...request.files]) {
    if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
  }
  const hooks = HookNames.map((name) => path.join(request.hooksDir, name));
  const missing = hooks.filter((file) => !fs.existsSync(file));
  if (missing.length > 0) throw new Error(`${missing[0]}: missing (${request.hooksHint})`);
  if (fs.existsSync(request.out) && fs.readdirSync(request.out).length > 0 && !request.force) {
    throw new Error(`${request.out} is not empty (use --force to replace its contents)`);
  }
  const targets = request.files.map((file) => `${AppFilesDir}/${placeInApp(file, request.base)}`);
  const clash = targets.find((target, i) => targets.indexOf(target) !== i);
  if (clash !== undefined) throw new Error(`two paths would both be ${clash}: name one of them`);
  fs.rmSync(request.out, { recursive: true, force: true });
  fs.mkdirSync(path.join(request.out, 'hooks'), { recursive: true });
  // Made even when no file is named: an appspec whose `files:` source is missing fails the Install event.
  fs.mkdirSync(path.join(request.out, AppFilesDir));
  const copy = (from: string, to: string, mode: number) => {
    fs.copyFileSync(from, path.join(request.out, to));
    fs.chmodSync(path.join(request.out, to), mode);
  };
  copy(request.appspec, 'appspec.yml', 0o644);
  copy(request.config, 'portproof.yml', 0o644);
  for (const [i, name] of HookNames.entries()) copy(hooks[i]!, `hooks/${name}`, 0o755);
  for (const [i, file] of request.files.entries()) {
    const to = path.join(request.out, targets[i]!);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(file, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  }
  return listTree(request.out);
}

/** A path's place under app/: relative to base when inside it (lib/a.jar stays lib/a.jar), else its name. */
function placeInApp(file: string, base: string): string {
  const relative = path.relative(base, file);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return inside ? relative : path.basename(file);
}

function listTree(root: string): WrittenBundle {
  const files: string[] = [];
  let bytes = 0;
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.push(path.relative(root, file));
    bytes += fs.lstatSync(file).size;
  }
  return { files: files.sort(), bytes };
}
