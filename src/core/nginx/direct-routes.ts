// Where nginx's own config names a port outright: what it does instead of following the include.
import { cutLine } from '../text/clean-line.ts';
import type { NginxFiles } from './loaded-files.ts';
import { parseQuietly } from './loaded-files.ts';

/** Directives that send a request to an address: a `*_pass` or an upstream block's `server`. */
const PassDirective = /^(proxy|grpc|uwsgi|scgi|fastcgi)_pass$/;
const QuotedChars = 80;

/**
 * Each place the loaded config sends requests to `port` by number, not through the include's variable:
 * `its location / (FILE line N) proxies there directly: "proxy_pass http://127.0.0.1:8081;"`.
 */
export function describeDirectRoutes(files: NginxFiles, port: number): string[] {
  const names = new RegExp(`:${port}(?![0-9])`);
  const found: string[] = [];
  for (const [file, text] of files) {
    for (const directive of parseQuietly(text)) {
      const [name, target] = directive.tokens.map((t) => t.value);
      const upstream = name === 'server' && directive.context.at(-1)?.startsWith('upstream ');
      if (target === undefined || !(PassDirective.test(name!) || upstream) || !names.test(target)) continue;
      const block = directive.context.at(-1) ?? 'main';
      const quoted = cutLine(`${directive.tokens.map((t) => t.value).join(' ')};`, QuotedChars);
      const how = upstream ? 'sends requests there' : 'proxies there directly';
      found.push(`its ${block} (${file} line ${directive.line}) ${how}: "${quoted}"`);
    }
  }
  return found;
}
