// Where nginx's own config names a port outright: routes the switch does not move.
import { cutLine } from '../text/clean-line.ts';
import type { NginxFiles } from './loaded-files.ts';
import { parseQuietly } from './loaded-files.ts';

/** Directives that send a request to an address: a `*_pass` or an upstream block's `server`. */
const PassDirective = /^(proxy|grpc|uwsgi|scgi|fastcgi|memcached)_pass$/;
const QuotedChars = 80;

/** A directive in a file nginx loads that sends requests to a configured port by number. */
export interface DirectRoute {
  file: string;
  line: number;
  port: number;
  /** "location /api/", "upstream app", "main". */
  block: string;
  /** The directive as written, cut to a quotable length. */
  quoted: string;
  upstream: boolean;
}

/**
 * Every place the loaded config sends requests to one of `ports` by number, not through the include, in any server
 * or upstream block; the files in `skip` (the include itself, which the switch rewrites) are not searched.
 */
export function findDirectRoutes(
  files: NginxFiles,
  ports: readonly number[],
  skip: ReadonlySet<string> = new Set(),
): DirectRoute[] {
  const found: DirectRoute[] = [];
  for (const [file, text] of files) {
    if (skip.has(file)) continue;
    for (const directive of parseQuietly(text)) {
      const [name, target] = directive.tokens.map((t) => t.value);
      const upstream = name === 'server' && (directive.context.at(-1)?.startsWith('upstream ') ?? false);
      if (target === undefined || !(PassDirective.test(name!) || upstream)) continue;
      const port = ports.find((p) => new RegExp(`:${p}(?![0-9])`).test(target));
      if (port === undefined) continue;
      const quoted = cutLine(`${directive.tokens.map((t) => t.value).join(' ')};`, QuotedChars);
      found.push({ file, line: directive.line, port, block: directive.context.at(-1) ?? 'main', quoted, upstream });
    }
  }
  return found;
}

/** `its location /api/ (FILE line 12) proxies there directly: "proxy_pass http://127.0.0.1:8081;"`. */
export function describeRoute(route: DirectRoute): string {
  const how = route.upstream ? 'sends requests there' : 'proxies there directly';
  return `its ${route.block} (${route.file} line ${route.line}) ${how}: "${route.quoted}"`;
}

/**
 * Each place the loaded config sends requests to `port` by number, not through the include's variable:
 * `its location / (FILE line N) proxies there directly: "proxy_pass http://127.0.0.1:8081;"`.
 */
export function describeDirectRoutes(files: NginxFiles, port: number): string[] {
  return findDirectRoutes(files, [port]).map(describeRoute);
}

/**
 * The refusal of a switch while such routes exist, naming each (at most three): a switch moves only what reads the
 * include, so an OK would claim users are on the new version while these still reach a fixed port. Null when none.
 */
export function refuseDirectRoutes(routes: readonly DirectRoute[], port: number): string | null {
  if (routes.length === 0) return null;
  const named = routes
    .slice(0, 3)
    .map((r) => `port ${r.port}: ${describeRoute(r).replace(/^its /, '')}`)
    .join('; ');
  const more = routes.length > 3 ? `; and ${routes.length - 3} more` : '';
  return (
    `nginx routes requests to a configured port by number, which no switch moves: ${named}${more}; ` +
    `nginx was not switched to port ${port} (route those through the include's variable, then deploy again)`
  );
}
