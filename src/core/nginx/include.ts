import fs from 'node:fs';
import { substitutePort } from '../config/port-placeholder.ts';
import { HookError } from '../errors.ts';
import { cutLine } from '../text/clean-line.ts';
import { followTrustedLinks } from './include-file.ts';
import { NginxSyntaxError, tokenizeNginx, type NginxDirective } from './tokenize.ts';

/** Stands in for `{port}` while nginx.line is tokenized: `{` would otherwise open a block. */
const PortMark = '\uE000';
/** How many of the include's directives a refusal quotes, and how long each may be. */
const QuotedDirectives = 4;
const QuotedChars = 80;
/** How many line numbers a refusal lists for lines it does not quote. */
const QuotedLineNumbers = 8;

/** nginx.line as words to match, `{port}` marked in them. */
export interface LinePattern {
  words: string[];
}

/** Where a directive names a port: the directive and the source offsets of each run of port digits. */
export interface PortDirective {
  directive: NginxDirective;
  port: number;
  digits: Array<{ start: number; end: number }>;
}

/** What the include says about the live port. */
export type IncludeReading =
  /** Missing, or empty but for whitespace: a first deployment. */
  | { kind: 'none'; text: string }
  /** One active directive (or several naming the same port) names a configured port. */
  | { kind: 'live'; text: string; port: number; matches: PortDirective[] }
  /** Anything else: the live port cannot be told, and nothing may be signalled. */
  | { kind: 'unknown'; text: string; reason: string; found: string[]; unquoted: number[] };

/** nginx.line tokenized as nginx would read it; a line that is not exactly one directive is a config error. */
export function compileLinePattern(line: string): LinePattern {
  const marked = line.replaceAll('{port}', PortMark).trimEnd();
  let directives: NginxDirective[];
  try {
    directives = tokenizeNginx(marked.endsWith(';') ? marked : `${marked};`);
  } catch (error) {
    // Only a syntax error is expected here; the message says where.
    if (!(error instanceof NginxSyntaxError)) throw error;
    throw new HookError('BAD_CONFIG', `nginx.line: nginx would not read "${line}": ${error.message}`);
  }
  const [only] = directives;
  if (directives.length !== 1 || only === undefined || only.depth !== 0) {
    const example = 'set $service_url http://127.0.0.1:{port};';
    throw new HookError('BAD_CONFIG', `nginx.line: expected one directive such as "${example}", found "${line}"`);
  }
  return { words: only.tokens.map((t) => t.value) };
}

/** The include's text for a port when there is none yet: the configured line. */
export function renderInclude(line: string, port: number): string {
  return `${renderIncludeLine(line, port)}\n`;
}

/** The configured line for a port, as one directive ending in ";". */
export function renderIncludeLine(line: string, port: number): string {
  const text = substitutePort(line, port).trimEnd();
  return text.endsWith(';') ? text : `${text};`;
}

/** The port a directive names if its words match the pattern word by word (every `{port}` the same digits). */
export function matchDirective(directive: NginxDirective, pattern: LinePattern): PortDirective | null {
  if (directive.tokens.length !== pattern.words.length) return null;
  let port: string | null = null;
  const digits: PortDirective['digits'] = [];
  for (const [index, word] of pattern.words.entries()) {
    const token = directive.tokens[index]!;
    const parts = word.split(PortMark).map(escapeRegExp);
    const found = new RegExp(`^${parts.join('(\\d{1,5})')}$`, 'd').exec(token.value);
    if (found === null) return null;
    for (let group = 1; group < parts.length; group += 1) {
      const [from, to] = found.indices![group]!;
      const value = found[group]!;
      if (port !== null && value !== port) return null;
      port = value;
      digits.push({ start: token.offsets[from]!, end: token.offsets[to - 1]! + 1 });
    }
  }
  // A line without {port} cannot arise (the config requires it); a match without a port names nothing.
  if (port === null) return null;
  return { directive, port: Number(port), digits };
}

/** Read include text as nginx does and decide the live port among the configured ones. */
export function readIncludeText(text: string, pattern: LinePattern, ports: readonly number[] | null): IncludeReading {
  if (text.trim() === '') return { kind: 'none', text };
  let directives: NginxDirective[];
  try {
    directives = tokenizeNginx(text);
  } catch (error) {
    // nginx itself would refuse this file: no port read from it can be trusted.
    if (!(error instanceof NginxSyntaxError)) throw error;
    const reason = `nginx would not read it (${error.message})`;
    return { kind: 'unknown', text, reason, ...quoteDirectives(text, [], pattern) };
  }
  const quotes = quoteDirectives(text, directives, pattern);
  const matches = directives.map((d) => matchDirective(d, pattern)).filter((m): m is PortDirective => m !== null);
  if (matches.length === 0) return { kind: 'unknown', text, reason: 'no directive matches nginx.line', ...quotes };
  const nested = matches.find((m) => m.directive.depth > 0);
  if (nested) {
    const reason = `the matching directive in line ${nested.directive.line} is inside a block`;
    return { kind: 'unknown', text, reason, ...quotes };
  }
  const named = [...new Set(matches.map((m) => m.port))];
  if (named.length > 1) {
    return { kind: 'unknown', text, reason: `active directives name different ports (${named.join(', ')})`, ...quotes };
  }
  const port = named[0]!;
  if (ports !== null && !ports.includes(port)) {
    const reason = `it names port ${port}, which is not one of the configured ports (${ports.join(', ')})`;
    return { kind: 'unknown', text, reason, ...quotes };
  }
  return { kind: 'live', text, port, matches };
}

/**
 * Read the include file; a missing one is a first deployment, an unreadable one an error naming the file. Bytes are
 * read as latin1, one character each, as nginx reads them: a rewrite then gives back every other byte unchanged.
 */
export function readInclude(includeFile: string, line: string, ports: readonly number[]): IncludeReading {
  const pattern = compileLinePattern(line);
  let text: string;
  try {
    text = fs.readFileSync(followTrustedLinks(includeFile), 'latin1');
  } catch (error) {
    // A link others could redirect is refused with its own code, before anything is read through it.
    if (error instanceof HookError) throw error;
    // No include yet means nothing is live (a first deployment); any other error is the operator's to fix.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none', text: '' };
    throw new HookError('NGINX_FAILED', `cannot read nginx include ${includeFile}: ${(error as Error).message}`);
  }
  return readIncludeText(text, pattern, ports);
}

/** The refusal for an include whose live port cannot be told: names the file, the reason and the lines found. */
export function includeRefusal(includeFile: string, reading: Extract<IncludeReading, { kind: 'unknown' }>): HookError {
  const quoted = reading.found.length === 0 ? 'no directives' : reading.found.map((l) => `"${l}"`).join(', ');
  const others = reading.unquoted.length === 0 ? '' : `; ${describeUnquoted(reading.unquoted)}`;
  return new HookError(
    'INCLUDE_UNKNOWN',
    `cannot tell which port nginx serves from ${includeFile}: ${reading.reason}; found ${quoted}${others}; ` +
      'nothing was signalled (fix the include so that one line matches nginx.line)',
    { include: includeFile },
  );
}

/** The include's text with the active directive's port replaced, everything else byte for byte as it was. */
export function rewriteIncludePort(reading: Extract<IncludeReading, { kind: 'live' }>, port: number): string {
  const spans = reading.matches.flatMap((m) => m.digits).sort((a, b) => b.start - a.start);
  let text = reading.text;
  for (const span of spans) text = `${text.slice(0, span.start)}${port}${text.slice(span.end)}`;
  return text;
}

/** The port an include's text points at, read as nginx would; null when it names none or cannot be told. */
export function parseIncludePort(text: string, line: string, ports: readonly number[] | null = null): number | null {
  const reading = readIncludeText(text, compileLinePattern(line), ports);
  return reading.kind === 'live' ? reading.port : null;
}

/**
 * The include's directives as short one-line quotes (comments and whitespace runs dropped). Only directives nginx
 * parsed whose first word is nginx.line's are quoted: the path may lead anywhere (a link to /etc/shadow), and a
 * refusal must not copy a file's raw text into the console and the log. Other lines are named by number only.
 */
function quoteDirectives(text: string, directives: NginxDirective[], pattern: LinePattern) {
  const first = pattern.words[0];
  const kept = directives.filter((d) => d.tokens[0]?.value === first);
  const unquoted =
    directives.length > 0
      ? directives.filter((d) => !kept.includes(d)).map((d) => d.line)
      : text.split('\n').flatMap((l, i) => (l.trim() !== '' && !l.trim().startsWith('#') ? [i + 1] : []));
  const lines = kept.map((d) => text.slice(d.start, d.end));
  const quoted = lines.slice(0, QuotedDirectives).map((l) => cutLine(l.replace(/\s+/g, ' ').trim(), QuotedChars));
  const found = lines.length > QuotedDirectives ? [...quoted, `… ${lines.length - QuotedDirectives} more`] : quoted;
  return { found, unquoted: [...new Set(unquoted)] };
}

/** "line 3 not quoted (...)" for the lines a refusal names by number only, the first few of them. */
function describeUnquoted(lines: number[]): string {
  const shown = lines.slice(0, QuotedLineNumbers).join(', ');
  const more = lines.length > QuotedLineNumbers ? ` and ${lines.length - QuotedLineNumbers} more` : '';
  const which = lines.length === 1 ? 'line' : 'lines';
  return `${which} ${shown}${more} not quoted (not a directive like nginx.line's, or unreadable)`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
