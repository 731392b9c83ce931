import fs from 'node:fs';
import path from 'node:path';
import { distHooksDir, HookNames, type Arch } from './paths.ts';

/** What goes into a deployable revision directory. */
export interface BundleRequest {
  arch: Arch;
  out: string;
  appspec: string;
  config: string;
  files: string[];
  force: boolean;
}

/** Where the app's own files go in a revision: the example appspec's `files:` source, so the hooks are not copied. */
export const AppFilesDir = 'app';

/**
 * Assemble a revision directory that `aws deploy push` or zip/tar can ship: appspec.yml, portproof.yml, hooks/ for
 * one arch (plain files, mode 755: the agent runs them directly), and the files the user names under app/, which
 * the appspec's `files:` copies to the destination (the hooks run from the agent's unpacked copy and are not copied
 * a third time). Returns what it wrote.
 */
export function assembleBundle(request: BundleRequest): string[] {
  for (const file of [request.appspec, request.config, ...request.files]) {
    if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
  }
  const hooks = HookNames.map((name) => path.join(distHooksDir(request.arch), name));
  const missing = hooks.filter((file) => !fs.existsSync(file));
  if (missing.length > 0) throw new Error(`${missing[0]}: not built (run npm run build)`);
  if (fs.existsSync(request.out) && fs.readdirSync(request.out).length > 0 && !request.force) {
    throw new Error(`${request.out} is not empty (use --force to replace its contents)`);
  }
  fs.rmSync(request.out, { recursive: true, force: true });
  fs.mkdirSync(path.join(request.out, 'hooks'), { recursive: true });
  // Made even when no file is named: an appspec whose `files:` source is missing fails the Install event.
  fs.mkdirSync(path.join(request.out, AppFilesDir));
  const written: string[] = [];
  const copy = (from: string, to: string, mode: number) => {
    fs.copyFileSync(from, path.join(request.out, to));
    fs.chmodSync(path.join(request.out, to), mode);
    written.push(to);
  };
  copy(request.appspec, 'appspec.yml', 0o644);
  copy(request.config, 'portproof.yml', 0o644);
  for (const [i, name] of HookNames.entries()) copy(hooks[i]!, `hooks/${name}`, 0o755);
  for (const file of request.files) copy(file, `${AppFilesDir}/${path.basename(file)}`, fs.statSync(file).mode & 0o777);
  return written;
}
