import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { parseDuration } from './duration.ts';

// The portproof.yml contract. Every key is checked; unknown keys are errors, so a typo never silently
// falls back to a default. zod/mini with the English messages alone: a hook builds this schema on every run,
// and classic zod with every locale cost about as much as the rest of a no-op hook.
z.config(en());

// A bare number has no unit: `timeout: 120` meant seconds to the person who wrote it beside an appspec, and would
// have been 120 ms. Only 0 needs none.
const duration = z
  .pipe(
    z.union([z.string(), z.number()], { error: 'must be a duration like 500ms, 30s or 2m' }),
    z.transform((value: string | number, ctx) => {
      if (typeof value === 'number' && value !== 0) {
        const message = `${value} has no unit: write ${value}s (or ${value}ms, ${value}m)`;
        ctx.issues.push({ code: 'custom', input: value, message });
        return z.NEVER;
      }
      const ms = parseDuration(value);
      if (ms === null) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `"${value}" is not a duration (use 500ms, 30s or 2m)`,
        });
        return z.NEVER;
      }
      return ms;
    }),
  )
  .check(z.meta({ type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$', description: 'a duration: 500ms, 30s, 2m' }));

const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.core.util.NoUndefined<z.output<T>>) =>
  z._default(schema, value);
// Each message says what is expected; the loader adds what was found ("…, got the string "8081"").
const text = (expected = 'must be text') => z.string({ error: expected });
const map = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject(shape, { error: 'must be a map of keys' });
const absolutePath = text('must be an absolute path').check(
  z.refine((p) => path.isAbsolute(p), 'must be an absolute path'),
);
const httpUrl = text('must be an http:// or https:// URL').check(
  z.refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL'),
);
// A CA file is read here, before anything is touched: a typo in its path is a config error, not a failed health check.
const pemFile = absolutePath.check(
  z.superRefine((file: string, ctx) => {
    const problem = checkPemFile(file);
    if (problem !== null) ctx.addIssue({ code: 'custom', input: file, message: problem });
  }),
);
const portMessage = 'must be a whole number from 1 to 65535';
const statusMessage = 'must be an HTTP status from 100 to 599';
const port = z.int({ error: portMessage }).check(z.minimum(1, portMessage), z.maximum(65535, portMessage));
// A number in an argv ([python3, -m, http.server, 8080]) is taken as its text, as a shell would; nothing else is.
const argvItem = z.pipe(
  z.union([z.string(), z.number()], { error: 'must be text (quote it)' }),
  z.transform((value: string | number) => String(value)),
);
const argvOf = (example: string) =>
  z.array(argvItem, { error: `must be a list like ${example}` }).check(z.minLength(1, 'must name a program'));
const argv = argvOf('[java, -jar, app.jar]');
const signalNames = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;
const signal = z.enum(signalNames, { error: `must be one of ${signalNames.join(', ')}` });
// A plain file name: "." or ".." would put state.json, the lock and hooks.log in stateDir or above it.
const nameMessage = 'may hold only letters, digits, ".", "_" and "-", and may not be "." or ".."';
const name = text().check(z.regex(/^(?!\.\.?$)[A-Za-z0-9._-]+$/, nameMessage));
// A unit name systemd accepts, ending in .service: `myapp.service`, or the template `myapp@.service` (instance = port).
const unitMessage = 'must be a systemd service name like myapp.service or myapp@.service';
const unit = text(unitMessage).check(z.regex(/^[A-Za-z0-9:_.\\-]+(@)?\.service$/, unitMessage));
const supervisors = ['auto', 'systemd', 'direct'] as const;

/** The app section: what to start and how. */
export const appSchema = map({
  name,
  // One of command (portproof starts it) or unit (the user's own systemd unit); the config check says which is missing.
  command: z.optional(argv.check(z.describe('argv, no shell; {port} is replaced and PORT is set'))),
  unit: z.optional(unit.check(z.describe("the user's own systemd unit, instead of command"))),
  supervisor: withDefault(
    z
      .enum(supervisors, { error: `must be one of ${supervisors.join(', ')}` })
      .check(z.describe('auto: systemd when PID 1 is systemd, otherwise direct')),
    'auto',
  ),
  cwd: z.optional(absolutePath),
  user: z.optional(text('must be a user name').check(z.minLength(1, 'must be a user name'))),
  env: withDefault(
    z.record(z.string(), text('must be text (quote it)'), { error: 'must be a map like { NAME: value }' }),
    {},
  ),
  log: z.optional(absolutePath),
});

/** The whole portproof.yml. */
export const configSchema = z
  .strictObject(
    {
      app: appSchema,
      ports: z.array(port, { error: 'must be a list of one or two ports, like [8081, 8082]' }).check(
        z.minLength(1, 'needs one port (in-place) or two (blue/green)'),
        z.maxLength(2, 'needs one port (in-place) or two (blue/green)'),
        z.refine((ports) => new Set(ports).size === ports.length, 'must not repeat a port'),
      ),
      health: map({
        url: httpUrl,
        expectStatus: z.optional(
          z.int({ error: statusMessage }).check(z.minimum(100, statusMessage), z.maximum(599, statusMessage)),
        ),
        expectBody: z.optional(text().check(z.minLength(1, 'must not be empty'))),
        interval: withDefault(duration, 1000),
        timeout: withDefault(duration, 60_000),
        requestTimeout: withDefault(duration, 5000),
        // The same process still owns the port and answers this much after health passed; 0 turns it off.
        settle: withDefault(duration, 5000),
        // verify defaults to off over loopback (socket ownership proves the server) and on elsewhere.
        tls: z.optional(z.strictObject({ ca: z.optional(pemFile), verify: z.optional(z.boolean()) })),
      }),
      stop: withDefault(
        map({
          signal: withDefault(signal, 'SIGTERM'),
          grace: withDefault(duration, 30_000),
          // Before the signal, wait up to this long while requests are in flight or streams open; 0 turns it off.
          drain: withDefault(duration, 30_000),
        }),
        { signal: 'SIGTERM', grace: 30_000, drain: 30_000 },
      ),
      start: withDefault(map({ timeout: withDefault(duration, 120_000) }), { timeout: 120_000 }),
      nginx: z.optional(
        map({
          include: absolutePath,
          line: withDefault(
            text().check(z.includes('{port}', 'must contain {port}')),
            'set $service_url http://127.0.0.1:{port};',
          ),
          test: withDefault(argvOf('[nginx, -t]'), ['nginx', '-t']),
          reload: withDefault(argvOf('[nginx, -s, reload]'), ['nginx', '-s', 'reload']),
          // Prints every file nginx loads (`nginx -T`); by default nginx.test with its -t made -T.
          dump: z.optional(argvOf('[nginx, -T]')),
          pidFile: withDefault(absolutePath, '/run/nginx.pid'),
          url: z.optional(httpUrl),
          reloadTimeout: withDefault(duration, 10_000),
        }),
      ),
      stateDir: withDefault(absolutePath, '/var/lib/portproof'),
      keep: withDefault(
        z
          .int({ error: 'must be a whole number of releases' })
          .check(z.minimum(0, 'must be 0 or more'), z.describe('releases kept beyond the live and previous')),
        0,
      ),
    },
    { error: 'must be a map of keys (app, ports, health, …)' },
  )
  .check(
    z.superRefine((config, ctx) => {
      if (config.ports.length === 2 && !config.nginx) {
        ctx.addIssue({
          code: 'custom',
          path: ['nginx'],
          message: 'is required with two ports (blue/green behind nginx)',
        });
      }
      if (config.ports.length === 2 && !config.health.url.includes('{port}')) {
        const message =
          'must contain {port} with two ports (each is checked on its own), like http://127.0.0.1:{port}/health';
        ctx.addIssue({ code: 'custom', path: ['health', 'url'], input: config.health.url, message });
      }
      if (config.ports.length === 1 && config.nginx) {
        ctx.addIssue({ code: 'custom', path: ['nginx'], message: 'needs two ports to switch between' });
      }
      if (config.nginx && !config.nginx.dump && !config.nginx.test.includes('-t')) {
        const message =
          'is required when nginx.test has no -t: the command that prints the files nginx loads ([nginx, -T])';
        ctx.addIssue({ code: 'custom', path: ['nginx', 'dump'], message });
      }
      for (const problem of checkAppSource(config.app, config.ports.length)) ctx.addIssue(problem);
    }),
  );

/** What app.command, app.unit and app.supervisor say together, as issues on the key at fault. */
function checkAppSource(
  app: {
    command?: string[];
    unit?: string;
    supervisor: string;
    cwd?: string;
    user?: string;
    log?: string;
    env: object;
  },
  ports: number,
) {
  // Each message starts with the value it is about, so the loader does not repeat it as "got …".
  const issue = (key: string, input: string | undefined, message: string) => ({
    code: 'custom' as const,
    path: ['app', key],
    input,
    message: input === undefined ? message : `${input} ${message}`,
  });
  const { unit, command, supervisor } = app;
  if (unit === undefined) {
    return command === undefined ? [issue('command', undefined, 'is required (or app.unit: your own unit)')] : [];
  }
  if (command !== undefined) return [issue('unit', unit, 'and app.command cannot both be given: keep one')];
  // The user's unit says these itself; portproof never edits it, so a value here would be silently ignored.
  const own = { cwd: 'WorkingDirectory=', user: 'User=', log: 'StandardOutput=', env: 'Environment=' };
  const given = { cwd: app.cwd !== undefined, user: app.user !== undefined, log: app.log !== undefined };
  const unused = Object.entries({ ...given, env: Object.keys(app.env).length > 0 }).filter(([, set]) => set);
  if (unused.length > 0) {
    return unused.map(([key]) => {
      const directive = own[key as keyof typeof own];
      return issue(key, undefined, `is not used with app.unit: set ${directive} in ${unit} instead`);
    });
  }
  if (supervisor === 'direct') return [issue('unit', unit, 'needs systemd, but app.supervisor is direct')];
  const template = unit.endsWith('@.service');
  if (template && ports === 1) {
    return [issue('unit', unit, 'is a template (an instance per port); with one port, name a plain unit')];
  }
  if (!template && ports === 2) {
    const like = unit.replace(/\.service$/, '@.service');
    return [issue('unit', unit, `is one unit; two ports need a template like ${like}`)];
  }
  return [];
}

/** A validated config with every default filled in. */
export type Config = z.output<typeof configSchema>;

/** Why a CA file cannot serve as health.tls.ca, or null when it reads as PEM certificates. */
function checkPemFile(file: string): string | null {
  // A relative path already failed absolutePath: one message for it is enough.
  if (!path.isAbsolute(file)) return null;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${file} not found` : `${file} cannot be read (${code ?? (error as Error).message})`;
  }
  if (text.includes('-----BEGIN CERTIFICATE-----')) return null;
  return `${file} holds no PEM certificate (no BEGIN CERTIFICATE line)`;
}

/** The keys the map at `keyPath` takes (`[]` the top level, `['health']`…), for suggesting one a typo meant. */
export function listKnownKeys(keyPath: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = configSchema;
  for (const key of [...keyPath, null]) {
    // Through the wrappers (a default, optional, a pipe's input) to the map inside.
    while (schema !== undefined) {
      const def: object = schema._zod.def;
      const inner = 'innerType' in def ? def.innerType : 'in' in def ? def.in : undefined;
      if (inner === undefined) break;
      schema = inner as z.core.$ZodType;
    }
    const shape: Record<string, z.core.$ZodType> | null =
      schema && 'shape' in schema._zod.def ? (schema._zod.def.shape as Record<string, z.core.$ZodType>) : null;
    if (shape === null) return [];
    if (key === null) return Object.keys(shape);
    schema = shape[String(key)];
  }
  return [];
}
