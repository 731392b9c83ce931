import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type * as z from 'zod/mini';
import { HookError } from '../errors.ts';
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

/** Read, parse and validate portproof.yml; any problem is one line naming the key, before anything is touched. */
export function loadConfig(file: string, bundleRoot: string, env = process.env): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    throw new HookError('BAD_CONFIG', `config ${file}: ${reason}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` line ${error.linePos[0].line}` : '';
    throw new HookError('BAD_CONFIG', `config ${file}${where}: not valid YAML: ${firstLine((error as Error).message)}`);
  }
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new HookError('BAD_CONFIG', `config ${file}: ${describeIssue(parsed.error.issues[0])}`);
  return completeConfig(parsed.data, file, bundleRoot, env);
}

function completeConfig(config: Config, file: string, bundleRoot: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const stateDir = env.PORTPROOF_STATE_DIR ? path.resolve(env.PORTPROOF_STATE_DIR) : config.stateDir;
  const app = {
    ...config.app,
    cwd: config.app.cwd ?? bundleRoot,
    log: config.app.log ?? path.join(stateDir, config.app.name, 'app-{port}.log'),
  };
  const nginx = config.nginx && { ...config.nginx, tls: config.health.tls };
  return { ...config, app, nginx, stateDir, file, bundleRoot };
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length > 0 ? `${key}.` : '';
    return `unknown key ${issue.keys.map((k) => `${where}${k}`).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${key}: is required`;
  return `${key}: ${issue.message}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
