import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { findEntry, type HookEntry } from '../src/core/events.ts';
import { HookExecArgv } from './hook-flags.ts';
import { CacheDir, RepoRoot, type Arch } from './paths.ts';
import { prepareRuntime } from './runtime.ts';

const execFileAsync = promisify(execFile);

/** The SEA main script of the host arch's hooks: it runs the `hook.cjs` asset with the `hook.cache` asset. */
export const SeaMain = path.join(RepoRoot, 'build/sea-main.cjs');
const Runner = path.join(RepoRoot, 'build/code-cache-run.cjs');
// The warm-up runs with the hooks' own flags, a fixed hash seed (a code cache records V8's string hashes, as for the
// SEA blob) and --predictable: without it, work V8 does on its background threads while the hook waits left a flag
// bit of a few functions differing between two builds (one in four). V8 accepts the cache without either flag.
const RunnerFlags = [...HookExecArgv, '--random-seed=1', '--predictable'];

/**
 * What each hook's warm-up run does: the path a run takes through config, preflight, log (and lock) and the flow's
 * first steps, with nothing of the build machine touched. The no-op stop is the whole path the benchmark times.
 */
const WarmUps: Record<HookEntry, { args: string[]; what: string }> = {
  // Nothing listens on the port and no process is recorded: "port free (nothing was listening)".
  stop: { args: [], what: 'a no-op ApplicationStop' },
  // The read-only report: config, preflight with the launch checks, log, the port's owners. A real start waits on
  // its app in a poll whose count of turns follows the machine's load, and V8 tiers functions up by such counts:
  // two builds of the same inputs on a busy machine gave two caches.
  start: { args: ['--check'], what: "ApplicationStart's --check" },
  // No start is recorded: the validate takes the lock, reads the state and fails before any request.
  validate: { args: [], what: 'a ValidateService with nothing recorded' },
};

/**
 * The SEA assets of one hook for the build machine's arch: the bundle wrapped as a CommonJS function, and V8's code
 * cache of it taken after a warm-up run in a throwaway revision, so it holds the functions compiled lazily during a
 * run (SEA's own `useCodeCache` holds only what is compiled before the script runs). Fails unless V8 accepts it.
 */
export async function makeCodeCache(name: HookEntry, bundle: string, host: Arch): Promise<Record<string, string>> {
  const runtime = prepareRuntime(host);
  const dir = path.join(CacheDir, 'bundle');
  const wrapped = path.join(dir, `${name}.wrapped.cjs`);
  const cache = path.join(dir, `${name}.cache`);
  const source = fs.readFileSync(bundle, 'latin1');
  fs.writeFileSync(wrapped, `(function (exports, require, module, __filename, __dirname) {${source}\n})`, 'latin1');
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-warm-up-'));
  const isolate = await findNetworkIsolation();
  try {
    const env = await writeWarmUpRevision(temp, name, runtime, isolate.length > 0);
    fs.rmSync(cache, { force: true });
    // The warm-up's verdict is not the build's business (start and validate fail on purpose): only its cache is.
    const { args: hookArgs, what } = WarmUps[name];
    const [command, ...args] = [...isolate, runtime, ...RunnerFlags, Runner, 'record', wrapped, cache, ...hookArgs];
    await execFileAsync(command!, args, { cwd: temp, env }).catch((error: { stdout?: string; stderr?: string }) => {
      if (!fs.existsSync(cache)) throw new Error(`${what} made no code cache: ${error.stderr}`);
    });
    await execFileAsync(runtime, [...HookExecArgv, Runner, 'verify', wrapped, cache], { cwd: temp });
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
  return { 'hook.cjs': wrapped, 'hook.cache': cache };
}

/**
 * The command prefix that runs the warm-up in a network namespace of its own (as root, or as a user mapped to root in
 * a user namespace), or none where the system allows neither. What the warm-up's V8 compiles and tiers up follows the
 * host's socket table, which the stop and start read whole: the same build gave another cache with 6,000 sockets on
 * the host than with two. In a new namespace the table is empty, on every build.
 */
async function findNetworkIsolation(): Promise<string[]> {
  for (const prefix of [
    ['unshare', '--net'],
    ['unshare', '--map-root-user', '--net'],
  ]) {
    try {
      await execFileAsync(prefix[0]!, [...prefix.slice(1), 'true']);
      return prefix;
    } catch {
      // Not root, no user namespaces, or no unshare: try the next way, then build with the host's table.
    }
  }
  return [];
}

/** A revision in `dir` for the warm-up of one hook, with its own state directory; returns the agent's environment. */
async function writeWarmUpRevision(
  dir: string,
  name: HookEntry,
  runtime: string,
  isolated: boolean,
): Promise<NodeJS.ProcessEnv> {
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const config = {
    // The pinned runtime is the one program sure to be there for the preflight's launch checks; no warm-up starts it.
    app: { name: 'warm-up', command: [runtime, '-e', 'process.exit(3)'], supervisor: 'direct' },
    // Alone in its namespace any port is free: a fixed one keeps the config the same bytes on every build.
    ports: [isolated ? 8081 : await findFreePort()],
    health: { url: 'http://127.0.0.1:{port}/health' },
    stop: { grace: '5s' },
    start: { timeout: '5s' },
    stateDir,
  };
  fs.writeFileSync(path.join(dir, 'portproof.yml'), stringify(config));
  fs.copyFileSync(path.join(RepoRoot, 'appspec.yml'), path.join(dir, 'appspec.yml'));
  const { event } = findEntry(name);
  return {
    PATH: process.env.PATH,
    PORTPROOF_BUNDLE_ROOT: dir,
    LIFECYCLE_EVENT: event,
    DEPLOYMENT_ID: 'd-WARMUP',
    APPLICATION_NAME: 'warm-up',
    DEPLOYMENT_GROUP_NAME: 'build',
    DEPLOYMENT_GROUP_ID: 'g-build',
  };
}

/** A TCP port nothing listens on right now (the kernel's pick). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
