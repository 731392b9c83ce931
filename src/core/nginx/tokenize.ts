// nginx's config tokenizer (ngx_conf_read_token) for the few files portproof reads: the include and nginx.line.

/** One word as nginx sees it (quotes removed, escapes applied), with where each of its characters came from. */
export interface NginxToken {
  value: string;
  /** Offset in the source text of each character of `value` (an escape maps to its backslash). */
  offsets: number[];
}

/** One directive: its words, where it starts and ends in the source (end is after its `;`), its line and depth. */
export interface NginxDirective {
  tokens: NginxToken[];
  start: number;
  end: number;
  line: number;
  /** 0 at the top of the file; 1 inside a block (`if (...) { ... }`), and so on. */
  depth: number;
  /** The headers of the blocks around it, outermost first (`server`, `location /`). */
  context: string[];
}

/** Text nginx itself would reject, with the line it stops at. */
export class NginxSyntaxError extends Error {
  override readonly name = 'NginxSyntaxError';
  readonly line: number;
  constructor(message: string, text: string, offset: number) {
    const line = lineAt(text, offset);
    super(`${message} in line ${line}`);
    this.line = line;
  }
}

/** The 1-based line number of an offset in the text. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text[i] === '\n') line += 1;
  return line;
}

const Space = new Set([' ', '\t', '\r', '\n']);

/**
 * Split config text into directives as nginx does: `#` starts a comment only where a word could start, single and
 * double quotes group a word (`\"`, `\'`, `\\`, `\t`, `\r`, `\n` are escapes), any whitespace separates words,
 * `;` ends a directive, `{` and `}` open and close blocks. Throws NginxSyntaxError where nginx would refuse the file.
 */
export function tokenizeNginx(text: string): NginxDirective[] {
  const directives: NginxDirective[] = [];
  let tokens: NginxToken[] = [];
  let start = -1;
  let depth = 0;
  const context: string[] = [];
  const finish = (end: number, blockStart: boolean) => {
    if (tokens.length === 0) throw new NginxSyntaxError(`unexpected "${text[end - 1]}"`, text, end - 1);
    // A block's header (`if (...) {`) is not a directive portproof reads; what is inside it is, one level deeper.
    if (!blockStart) directives.push({ tokens, start, end, line: lineAt(text, start), depth, context: [...context] });
    else {
      depth += 1;
      context.push(tokens.map((t) => t.value).join(' '));
    }
    tokens = [];
    start = -1;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (Space.has(ch)) {
      i += 1;
      continue;
    }
    if (ch === '#') {
      // A comment runs to the end of the line.
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (ch === ';' || ch === '{') {
      finish(i + 1, ch === '{');
      i += 1;
      continue;
    }
    if (ch === '}') {
      if (tokens.length > 0 || depth === 0) throw new NginxSyntaxError('unexpected "}"', text, i);
      depth -= 1;
      context.pop();
      i += 1;
      continue;
    }
    if (start === -1) start = i;
    const word = ch === '"' || ch === "'" ? readQuoted(text, i) : readBare(text, i);
    tokens.push(word.token);
    i = word.next;
  }
  if (tokens.length > 0) throw new NginxSyntaxError('unexpected end of file, expecting ";" or "}"', text, text.length);
  if (depth > 0) throw new NginxSyntaxError('unexpected end of file, expecting "}"', text, text.length);
  return directives;
}

interface Word {
  token: NginxToken;
  next: number;
}

/** A quoted word: up to the matching quote, which must be followed by a separator (nginx's need_space). */
function readQuoted(text: string, at: number): Word {
  const quote = text[at]!;
  const token: NginxToken = { value: '', offsets: [] };
  let i = at + 1;
  for (;;) {
    if (i >= text.length) throw new NginxSyntaxError(`unexpected end of file, expecting ${quote}`, text, i);
    if (text[i] === quote) break;
    i = appendChar(text, i, token);
  }
  const after = text[i + 1];
  if (after !== undefined && !Space.has(after) && after !== ';' && after !== '{' && after !== ')') {
    throw new NginxSyntaxError(`unexpected "${after}"`, text, i + 1);
  }
  return { token, next: i + 1 };
}

/** A bare word: up to whitespace, `;` or `{` — except the `{` of a `${variable}`. */
function readBare(text: string, at: number): Word {
  const token: NginxToken = { value: '', offsets: [] };
  let i = at;
  while (i < text.length) {
    const ch = text[i]!;
    if (Space.has(ch) || ch === ';') break;
    if (ch === '{' && text[i - 1] !== '$') break;
    i = appendChar(text, i, token);
  }
  return { token, next: i };
}

/** Append the character at `i` (or the escape starting there) to the token; returns where the next one starts. */
function appendChar(text: string, i: number, token: NginxToken): number {
  const ch = text[i]!;
  const escaped = ch === '\\' ? text[i + 1] : undefined;
  const unescaped = escaped === undefined ? undefined : Escapes[escaped];
  token.offsets.push(i);
  if (unescaped !== undefined) {
    token.value += unescaped;
    return i + 2;
  }
  token.value += ch;
  // nginx takes the character after any backslash literally (it cannot end the word), keeping the backslash.
  if (escaped !== undefined) {
    token.value += escaped;
    token.offsets.push(i + 1);
    return i + 2;
  }
  return i + 1;
}

const Escapes: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', t: '\t', r: '\r', n: '\n' };
