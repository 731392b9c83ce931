import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { HookError } from '../errors.ts';
import { describeIssue, keepFirstIssuePerKey } from './describe-issue.ts';
import { configSchema, type Config } from './schema.ts';

/** The config a hook runs with: the file's settings plus where it came from and the bundle it belongs to. */
export interface LoadedConfig extends Config {
  file: string;
  bundleRoot: string;
  app: Config['app'] & { cwd: string; log: string };
  /** The probe through nginx follows health.tls, copied here so the switch needs only its own section. */
  nginx?: NonNullable<Config['nginx']> & { tls?: Config['health']['tls'] };
}

/** Which portproof.yml to read: --config, then PORTPROOF_CONFIG, then the one beside appspec.yml. */
export function resolveConfigPath(bundleRoot: string, flag: string | undefined, env = process.env): string {
  const chosen = flag ?? env.PORTPROOF_CONFIG;
  return chosen ? path.resolve(chosen) : path.join(bundleRoot, 'portproof.yml');
}

/** Read, parse and validate portproof.yml; every problem is one line naming the key, before anything is touched. */
export function loadConfig(file: string, bundleRoot: string, env = process.env): LoadedConfig {
  const parsed = configSchema.safeParse(readConfigYaml(file) ?? {}, { reportInput: true });
  if (!parsed.success) throw configProblems(file, keepFirstIssuePerKey(parsed.error.issues).map(describeIssue));
  return completeConfig(parsed.data, file, bundleRoot, env);
}

/**
 * The problems a config has wherever it runs, for `portproof bundle`: every rule the hooks apply except those that
 * read this machine (a CA file's path names a file on the host). Empty when the hooks would accept it.
 */
export function checkPortableConfig(file: string): string[] {
  const parsed = configSchema.safeParse(readConfigYaml(file) ?? {}, { reportInput: true });
  if (parsed.success) return [];
  const portable = parsed.error.issues.filter((i) => !(i.code === 'custom' && i.path.join('.') === 'health.tls.ca'));
  return keepFirstIssuePerKey(portable).map(describeIssue);
}

/** The file's YAML as data; a missing file or bad YAML is one line (exit 2). */
function readConfigYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    throw new HookError('BAD_CONFIG', `config ${file}: ${reason}`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` line ${error.linePos[0].line}` : '';
    throw new HookError('BAD_CONFIG', `config ${file}${where}: not valid YAML: ${firstLine((error as Error).message)}`);
  }
}

/**
 * Where the app runs unless app.cwd says: its own release's files, so the previous release keeps its own while it
 * stays up for rollback — the revision's app/ directory when `portproof bundle` laid one out, else the revision.
 */
function defaultCwd(bundleRoot: string): string {
  const app = path.join(bundleRoot, 'app');
  return fs.statSync(app, { throwIfNoEntry: false })?.isDirectory() ? app : bundleRoot;
}

function completeConfig(config: Config, file: string, bundleRoot: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const stateDir = env.PORTPROOF_STATE_DIR ? path.resolve(env.PORTPROOF_STATE_DIR) : config.stateDir;
  const app = {
    ...config.app,
    cwd: config.app.cwd ?? defaultCwd(bundleRoot),
    log: config.app.log ?? path.join(stateDir, config.app.name, 'app-{port}.log'),
  };
  const nginx = config.nginx && { ...config.nginx, tls: config.health.tls };
  return { ...config, app, nginx, stateDir, file, bundleRoot };
}

/**
 * All the problems found in one config file as one error: each problem a line above the verdict, the verdict naming
 * the first (the most specific reason first) and how many more there are. Exit 2.
 */
export function configProblems(file: string, problems: string[]): HookError {
  const [first = 'invalid', ...rest] = problems;
  const more = rest.length === 0 ? '' : ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'} above)`;
  const evidence = problems.length > 1 ? problems.map((p) => `config ${file}: ${p}`) : [];
  return new HookError('BAD_CONFIG', `config ${file}: ${first}${more}`, { evidence });
}

/** The first line of yaml's message, without the colon that introduced the excerpt it printed below it. */
function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).replace(/:\s*$/, '');
}
