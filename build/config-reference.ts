import { buildConfigJsonSchema } from '../src/core/config/json-schema.ts';
import { configSchema } from '../src/core/config/schema.ts';

// docs/configuration.md's key table, generated from the schema the hooks validate with: every key, its type, its
// default (as parsed from a minimal config), and what it is for. A key without words here fails the test.

/** What each key is for, in a user's words, by its dotted path. */
export const KeyPurposes: Record<string, string> = {
  app: 'what to start and how',
  'app.name': 'names the state directory, the units and the logs; letters, digits, `.`, `_`, `-`',
  'app.command': 'argv, no shell: `[java, -jar, app.jar, "--server.port={port}"]`; `{port}` is replaced, `PORT` is set',
  'app.unit': 'your own systemd unit instead of `command` (`myapp.service`, or `myapp@.service` for two ports)',
  'app.supervisor': '`auto`: systemd where PID 1 is systemd, else `direct` (see docs/systemd.md)',
  'app.cwd': "working directory; default: the revision's `app/` (each release runs from its own files)",
  'app.user': 'the account the app runs as (the hooks run as root); it must exist',
  'app.env': 'environment for the app; values are never printed',
  'app.log': 'stdout and stderr, appended; default `<stateDir>/<name>/app-{port}.log`',
  ports: 'one port: in place; two: blue/green behind nginx',
  health: 'how a new process is proved healthy',
  'health.url': 'polled until it answers; `{port}` is the port being deployed (required with two ports)',
  'health.expectStatus': 'the status that counts as healthy; default: any 2xx',
  'health.expectBody': 'text the body must contain',
  'health.interval': 'time between tries',
  'health.timeout': 'how long to keep trying',
  'health.requestTimeout': 'one request’s limit',
  'health.settle': 'the same process must still own the port and answer this much later; `0` turns it off',
  'health.tls': 'certificate checks for an `https://` URL (see docs/hooks.md)',
  'health.tls.ca': 'a PEM file trusted instead of the public CAs',
  'health.tls.verify': 'verify the certificate; default: off over loopback, on elsewhere',
  stop: 'how the old process is stopped',
  'stop.signal': 'sent first',
  'stop.grace': 'SIGKILL this long after the signal',
  'stop.drain': 'before the signal, wait while requests are in flight (streams: at most this long); 0: off',
  start: 'how long a start may take',
  'start.timeout': 'time for the new process to bind its port',
  nginx: 'blue/green only: the include ValidateService switches',
  'nginx.include': 'the file holding the one line below; nginx must load it (`nginx -T`), or a glob of its must',
  'nginx.line': 'the include’s line; `{port}` is the live port',
  'nginx.test': 'the config test run before a reload',
  'nginx.dump': 'prints every file nginx loads; default `nginx.test` with `-t` made `-T`',
  'nginx.reload': 'the reload command',
  'nginx.pidFile': "nginx's master PID file, to confirm the reload took",
  'nginx.url': 'requests sent through nginx after the switch must reach the new process; without it, "not proved"',
  'nginx.reloadTimeout': 'how long to wait for new workers after a reload',
  stateDir: "portproof's state, locks and logs; `PORTPROOF_STATE_DIR` overrides it",
  keep: 'releases kept under the state directory beyond the live and the previous one',
};

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: string[];
  pattern?: string;
  anyOf?: JsonSchema[];
};

/** Every key of the schema as a dotted path, with its JSON Schema and whether it is required. */
export function listConfigKeys(): { key: string; schema: JsonSchema; required: boolean }[] {
  const keys: { key: string; schema: JsonSchema; required: boolean }[] = [];
  const walk = (schema: JsonSchema, prefix: string) => {
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      const key = prefix ? `${prefix}.${name}` : name;
      keys.push({ key, schema: child, required: schema.required?.includes(name) ?? false });
      walk(child, key);
    }
  };
  walk(buildConfigJsonSchema() as JsonSchema, '');
  return keys;
}

/** The markdown table of every key, as docs/configuration.md holds it between its markers. */
export function renderConfigReference(): string {
  const defaults = readDefaults();
  const rows = listConfigKeys().map(({ key, schema, required }) => {
    const value = defaults.get(key);
    const fallback = required ? 'required' : value === undefined ? '—' : `\`${value}\``;
    return `| \`${key}\` | ${describeType(schema)} | ${fallback} | ${KeyPurposes[key] ?? ''} |`;
  });
  return ['| key | type | default | what it is for |', '|---|---|---|---|', ...rows].join('\n');
}

function describeType(schema: JsonSchema): string {
  if (schema.pattern?.includes('ms|s|m|h')) return 'duration (`500ms`, `30s`, `2m`)';
  if (schema.enum) return schema.enum.map((v) => `\`${v}\``).join(', ');
  if (schema.type === 'array') return `list of ${describeType(schema.items ?? {})}`;
  if (schema.type === 'object') return 'map';
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : (schema.type ?? 'any');
  return type.replace('integer', 'whole number').replace('string', 'text');
}

/** Each key's default, read by parsing a minimal blue/green config: what the hooks fill in. */
function readDefaults(): Map<string, string> {
  const minimal = {
    app: { name: 'x', command: ['x'] },
    ports: [1, 2],
    health: { url: 'http://127.0.0.1:{port}/' },
    nginx: { include: '/x' },
  };
  const parsed = configSchema.parse(minimal) as unknown as Record<string, unknown>;
  const given = new Set(['app.name', 'app.command', 'ports', 'health.url', 'nginx.include']);
  const durations = new Set(
    listConfigKeys()
      .filter((k) => describeType(k.schema).startsWith('duration'))
      .map((k) => k.key),
  );
  const found = new Map<string, string>();
  const walk = (value: unknown, prefix: string) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (given.has(prefix)) return;
      const text = durations.has(prefix) ? formatMs(value as number) : JSON.stringify(value);
      found.set(prefix, Array.isArray(value) ? `[${(value as string[]).join(', ')}]` : text.replace(/^"|"$/g, ''));
      return;
    }
    for (const [name, child] of Object.entries(value)) walk(child, prefix ? `${prefix}.${name}` : name);
  };
  walk(parsed, '');
  return found;
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
