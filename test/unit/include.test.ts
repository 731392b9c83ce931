import { describe, expect, it } from 'vitest';
import {
  compileLinePattern,
  includeRefusal,
  parseIncludePort,
  readIncludeText,
  renderInclude,
  rewriteIncludePort,
} from '../../src/core/nginx/include.ts';
import { NginxSyntaxError, tokenizeNginx } from '../../src/core/nginx/tokenize.ts';
import { HookError } from '../../src/core/errors.ts';

const line = 'set $service_url http://127.0.0.1:{port};';
const pattern = compileLinePattern(line);
const ports = [8081, 8082];
const read = (text: string) => readIncludeText(text, pattern, ports);

describe('nginx tokenizer', () => {
  it('splits directives on ; with quotes, escapes, comments and any whitespace as nginx reads them', () => {
    const text = `# a comment; with "quotes"\nset\t$a  "x y";  set $b 'it\\'s' ;\r\nproxy_pass  http://h#not-a-comment; # trailing\nset $c \${d}e;\n`;
    const words = tokenizeNginx(text).map((d) => d.tokens.map((t) => t.value));
    expect(words).toEqual([
      ['set', '$a', 'x y'],
      ['set', '$b', "it's"],
      ['proxy_pass', 'http://h#not-a-comment'],
      ['set', '$c', '${d}e'],
    ]);
  });

  it('knows blocks, and where each directive starts and ends', () => {
    const text = 'if ($x) {\n  set $a 1;\n}\nset $b 2;';
    const directives = tokenizeNginx(text);
    expect(directives.map((d) => [d.depth, d.line, text.slice(d.start, d.end)])).toEqual([
      [1, 2, 'set $a 1;'],
      [0, 4, 'set $b 2;'],
    ]);
  });

  it('throws where nginx would refuse the file', () => {
    expect(() => tokenizeNginx('set $a "x;\n')).toThrow(NginxSyntaxError);
    expect(() => tokenizeNginx('set $a x')).toThrow(/unexpected end of file/);
    expect(() => tokenizeNginx('set $a "x"y;')).toThrow(/unexpected "y" in line 1/);
    expect(() => tokenizeNginx('}')).toThrow(/unexpected "}"/);
  });
});

describe('reading the include', () => {
  it("ignores a commented-out old line above the active one (the issue's first case)", () => {
    const text = '# set $service_url http://127.0.0.1:8082;\nset $service_url http://127.0.0.1:8081;\n';
    expect(read(text)).toMatchObject({ kind: 'live', port: 8081 });
  });

  it("reads a quoted spelling nginx accepts (the issue's second case), and other spellings", () => {
    expect(read('set $service_url "http://127.0.0.1:8081";')).toMatchObject({ kind: 'live', port: 8081 });
    expect(read("set\n  $service_url\n  'http://127.0.0.1:8082'  ;")).toMatchObject({ kind: 'live', port: 8082 });
    expect(read('set "$service_url" http://127.0.0.1:8081 ; # live')).toMatchObject({ kind: 'live', port: 8081 });
    expect(read('set $service_url http://127.0.0.1:8081;\nset $service_url "http://127.0.0.1:8081";')).toMatchObject({
      kind: 'live',
      port: 8081,
    });
  });

  it('a missing or whitespace-only include is a first deployment', () => {
    expect(read('')).toMatchObject({ kind: 'none' });
    expect(read(' \n\t\n')).toMatchObject({ kind: 'none' });
  });

  it('refuses, quoting the lines found, when the live port cannot be told', () => {
    expect(read('# set $service_url http://127.0.0.1:8081;\n')).toMatchObject({
      kind: 'unknown',
      reason: 'no directive matches nginx.line',
      found: [],
    });
    expect(read('set $service_url http://10.0.0.1:8081;')).toMatchObject({
      kind: 'unknown',
      found: ['set $service_url http://10.0.0.1:8081;'],
    });
    expect(read('set $service_url http://127.0.0.1:9090;')).toMatchObject({
      kind: 'unknown',
      reason: /port 9090, which is not one of the configured ports \(8081, 8082\)/,
    });
    expect(read('set $service_url http://127.0.0.1:8081;\nset $service_url http://127.0.0.1:8082;')).toMatchObject({
      kind: 'unknown',
      reason: 'active directives name different ports (8081, 8082)',
    });
    expect(read('set $service_url "http://127.0.0.1:8081;')).toMatchObject({
      kind: 'unknown',
      reason: /nginx would not read it/,
    });
    expect(read('if ($x) { set $service_url http://127.0.0.1:8081; }')).toMatchObject({
      kind: 'unknown',
      reason: /inside a block/,
    });
  });

  it("quotes only directives whose first word is nginx.line's; other lines are named by number, never quoted", () => {
    const shadow = 'root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n';
    const unreadable = read(shadow);
    expect(unreadable).toMatchObject({ kind: 'unknown', found: [], unquoted: [1, 2] });
    const refusal = includeRefusal(
      '/etc/nginx/service-url.inc',
      unreadable as Extract<typeof unreadable, { kind: 'unknown' }>,
    );
    expect(refusal.message).not.toContain('root:');
    expect(refusal.message).toContain('lines 1, 2 not quoted');
    const other = read('proxy_pass http://secret-host:9/;\nset $service_url http://10.0.0.1:8081;\n');
    expect(other).toMatchObject({ kind: 'unknown', found: ['set $service_url http://10.0.0.1:8081;'], unquoted: [1] });
    const message = includeRefusal('/x.inc', other as Extract<typeof other, { kind: 'unknown' }>).message;
    expect(message).not.toContain('secret-host');
    expect(message).toContain('line 1 not quoted');
  });

  it('cuts what it quotes', () => {
    const long = `set $other ${'x'.repeat(300)};\n`.repeat(6);
    const reading = read(long);
    expect(reading.kind).toBe('unknown');
    const found = reading.kind === 'unknown' ? reading.found : [];
    expect(found).toHaveLength(5);
    expect(found.every((l) => l.length <= 80)).toBe(true);
    expect(found.at(-1)).toBe('… 2 more');
  });

  it('takes nginx.line as the pattern, {port} its one variable, however it is spelled', () => {
    const quoted = compileLinePattern('set $backend "http://[::1]:{port}/api"');
    expect(readIncludeText("set $backend 'http://[::1]:8082/api';", quoted, ports)).toMatchObject({
      kind: 'live',
      port: 8082,
    });
    expect(() => compileLinePattern('set $a {port}; set $b 1;')).toThrow(HookError);
    expect(() => compileLinePattern('set $a "{port};')).toThrow(/nginx.line: nginx would not read/);
    expect(parseIncludePort(renderInclude(line, 8082), line)).toBe(8082);
  });
});

describe('rewriting the include', () => {
  it('changes only the port of the active line: comments, spelling and other directives stay byte for byte', () => {
    const text =
      '# old: set $service_url http://127.0.0.1:8082;\nset $x 1;\nset  $service_url   "http://127.0.0.1:8081"; # live\nset $y 2;\n';
    const reading = read(text);
    if (reading.kind !== 'live') throw new Error('expected a live reading');
    expect(rewriteIncludePort(reading, 8082)).toBe(text.replace('127.0.0.1:8081', '127.0.0.1:8082'));
    expect(read(rewriteIncludePort(reading, 8082))).toMatchObject({ kind: 'live', port: 8082 });
  });

  it('rewrites every directive naming the live port, and ports of different lengths', () => {
    const wide = readIncludeText(
      'set $service_url http://127.0.0.1:80;\nset $service_url http://127.0.0.1:80;',
      pattern,
      [80, 10080],
    );
    if (wide.kind !== 'live') throw new Error('expected a live reading');
    expect(rewriteIncludePort(wide, 10080)).toBe(
      'set $service_url http://127.0.0.1:10080;\nset $service_url http://127.0.0.1:10080;',
    );
  });
});
