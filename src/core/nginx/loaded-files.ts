// What nginx itself loads, from `nginx -T`: an include nginx does not read switches nothing, so every hook refuses it.
import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { HookError } from '../errors.ts';
import { formatArgv, runCommand } from '../run-command.ts';
import { cutLine } from '../text/clean-line.ts';
import { compileLinePattern, matchDirective, readIncludeText, type LinePattern } from './include.ts';
import { followTrustedLinks } from './include-file.ts';
import { NginxSyntaxError, tokenizeNginx, type NginxDirective } from './tokenize.ts';

type NginxConfig = NonNullable<LoadedConfig['nginx']>;

/** The files nginx loads and their text, in the order `nginx -T` printed them (the main file first). */
export type NginxFiles = Map<string, string>;

/** How many other files a refusal suggests, and how much of each directive it quotes. */
const Suggestions = 3;
const QuotedChars = 80;
/** nginx -T on a large config (hundreds of vhosts) still ends well within this. */
const DumpTimeoutMs = 15_000;

const FileMarker = /^# configuration file (.+):$/;

/** nginx -T's standard output split into its files: each starts at a "# configuration file PATH:" line. */
export function parseNginxDump(stdout: string): NginxFiles {
  const files: NginxFiles = new Map();
  let current: { file: string; lines: string[] } | null = null;
  const flush = () => {
    if (current) files.set(current.file, current.lines.join('\n'));
  };
  for (const line of stdout.split('\n')) {
    const marker = FileMarker.exec(line);
    if (marker) {
      flush();
      current = { file: marker[1]!, lines: [] };
    } else current?.lines.push(line);
  }
  flush();
  return files;
}

/** The command that prints the files nginx loads: nginx.dump, or nginx.test with its -t made -T. */
export function dumpCommand(nginx: Pick<NginxConfig, 'dump' | 'test'>): string[] {
  return nginx.dump ?? nginx.test.map((word) => (word === '-t' ? '-T' : word));
}

/** Ask nginx which files it loads; nginx refusing its own config is its message. */
export async function readNginxFiles(nginx: NginxConfig, untilMs: number): Promise<NginxFiles> {
  const argv = dumpCommand(nginx);
  const result = await runCommand(argv, Math.max(1000, Math.min(DumpTimeoutMs, untilMs - Date.now())));
  const files = result.error === null && result.code === 0 ? parseNginxDump(result.stdout) : new Map();
  if (files.size > 0) return files;
  const lines = result.output.split('\n').filter((l) => l.trim() !== '');
  const said = result.error ?? lines.find((l) => /emerg|error|crit|alert/.test(l)) ?? lines[0] ?? 'no files listed';
  const message = `${formatArgv(argv)} (which files nginx loads) failed: ${said}; nothing was signalled or written`;
  throw new HookError('NGINX_FAILED', message, { evidence: lines.slice(-10) });
}

/**
 * Refuse, before anything is signalled or written, an nginx.include nginx does not load: it must be one of the files
 * `nginx -T` lists (after links on both sides), or, when it does not exist yet, a path one of nginx's `include` globs
 * would load. What nginx read from it must hold nginx.line's directive or nothing (a first deployment). Returns the
 * files, for naming what nginx does instead should the switch not reach the new app.
 */
export async function assertNginxReadsInclude(nginx: NginxConfig, untilMs: number): Promise<NginxFiles> {
  // A link others could redirect is refused first, as such: nothing is read through it, nginx is not asked.
  const wanted = resolveReal(followTrustedLinks(nginx.include));
  const files = await readNginxFiles(nginx, untilMs);
  const pattern = compileLinePattern(nginx.line);
  const loaded = [...files.keys()].find((file) => file === nginx.include || resolveReal(file) === wanted);
  if (loaded !== undefined) {
    const reading = readIncludeText(files.get(loaded)!, pattern, null);
    // A directive that cannot be told is the include refusal's to name (readPortRoles); only "nothing like it" is here.
    if (reading.kind !== 'unknown' || reading.reason !== 'no directive matches nginx.line') return files;
    throw notRead(nginx, files, pattern, `nginx loads it (${loaded}) but it holds no directive like nginx.line`);
  }
  if (!fs.existsSync(wanted) && loadedByGlob(files, wanted)) return files;
  const listed = `nginx -T lists ${files.size} file(s) and not this one`;
  throw notRead(nginx, files, pattern, fs.existsSync(wanted) ? listed : `it does not exist and ${listed}`);
}

function notRead(nginx: NginxConfig, files: NginxFiles, pattern: LinePattern, why: string): HookError {
  const suggestions = suggestFiles(files, pattern, nginx.include);
  const hint = suggestions.length > 0 ? `; did you mean ${suggestions.join(' or ')}?` : '';
  return new HookError(
    'INCLUDE_NOT_READ',
    `nginx.include ${nginx.include} is not a file nginx reads: ${why}${hint} Nothing was signalled or written ` +
      '(a switch there would change nothing nginx serves)',
    { include: nginx.include },
  );
}

/**
 * Files nginx loads with a directive like nginx.line (any port), quoted whole, else with its first word, quoted by
 * its first two words only (`FILE ("set $x …")`): a `set` elsewhere may hold a secret, and a refusal is printed.
 */
function suggestFiles(files: NginxFiles, pattern: LinePattern, include: string): string[] {
  const exact: string[] = [];
  const similar: string[] = [];
  for (const [file, text] of files) {
    if (file === include) continue;
    const directives = parseQuietly(text);
    const match = directives.find((d) => matchDirective(d, pattern) !== null);
    const first = directives.find((d) => d.tokens[0]?.value === pattern.words[0]);
    const found = match ?? first;
    if (!found) continue;
    const words = found.tokens.map((t) => t.value);
    const quoted = cutLine(match ? `${words.join(' ')};` : `${words.slice(0, 2).join(' ')} …`, QuotedChars);
    (match ? exact : similar).push(`${file} ("${quoted}")`);
  }
  return [...exact, ...similar].slice(0, Suggestions);
}

/** A file's directives, or none when nginx printed text the tokenizer refuses (nginx itself accepted it). */
export function parseQuietly(text: string): NginxDirective[] {
  try {
    return tokenizeNginx(text);
  } catch (error) {
    // Only a syntax error is expected; the file is then just not searched.
    if (error instanceof NginxSyntaxError) return [];
    throw error;
  }
}

/** True when an `include` directive's glob (relative ones from the main file's directory) names `file`. */
function loadedByGlob(files: NginxFiles, file: string): boolean {
  const prefix = path.dirname([...files.keys()][0] ?? '/');
  for (const text of files.values()) {
    for (const directive of parseQuietly(text)) {
      const [name, argument] = directive.tokens.map((t) => t.value);
      if (name !== 'include' || argument === undefined || !/[*?[]/.test(argument)) continue;
      const glob = path.resolve(prefix, argument);
      if (globToRegExp(glob).test(file) || globToRegExp(resolveReal(glob)).test(file)) return true;
    }
  }
  return false;
}

/** glob(3) as nginx's include uses it: `*` and `?` within one path segment, `[...]` a class. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const ch = glob[i]!;
    const close = ch === '[' ? glob.indexOf(']', i + 2) : -1;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (close !== -1) {
      const body = glob
        .slice(i + 1, close)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = close;
    } else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The path with every link resolved, as far as it exists (a missing file keeps its name in its real directory). */
function resolveReal(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    // Missing (a first include, or a glob's directory): resolve what exists above it.
    const parent = path.dirname(file);
    return parent === file ? file : path.join(resolveReal(parent), path.basename(file));
  }
}
