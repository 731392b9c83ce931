import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

// The portproof.yml contract. Every key is checked; unknown keys are errors, so a typo never silently
// falls back to a default.

const duration = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use 500ms, 30s or 2m)` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$', description: 'a duration: 500ms, 30s, 2m' });

const absolutePath = z.string().refine((p) => path.isAbsolute(p), { message: 'must be an absolute path' });
const port = z.number().int().min(1, 'must be a port from 1 to 65535').max(65535, 'must be a port from 1 to 65535');
const argv = z.array(z.string().min(1)).min(1, 'must name a program');
const signal = z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']);
const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"');

/** The app section: what to start and how. */
export const appSchema = z.strictObject({
  name,
  command: argv.describe('argv, no shell; {port} is replaced and PORT is set'),
  cwd: absolutePath.optional(),
  user: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).default({}),
  log: absolutePath.optional(),
});

/** The whole portproof.yml. */
export const configSchema = z
  .strictObject({
    app: appSchema,
    ports: z
      .array(port)
      .min(1, 'needs one port (in-place) or two (blue/green)')
      .max(2, 'needs one port (in-place) or two (blue/green)')
      .refine((ports) => new Set(ports).size === ports.length, { message: 'must not repeat a port' }),
    health: z.strictObject({
      url: z.string().refine((u) => /^https?:\/\//.test(u), { message: 'must be an http:// or https:// URL' }),
      expectStatus: z.number().int().min(100).max(599).optional(),
      expectBody: z.string().min(1).optional(),
      interval: duration.default(1000),
      timeout: duration.default(60_000),
      requestTimeout: duration.default(5000),
    }),
    stop: z
      .strictObject({ signal: signal.default('SIGTERM'), grace: duration.default(30_000) })
      .default({ signal: 'SIGTERM', grace: 30_000 }),
    start: z.strictObject({ timeout: duration.default(120_000) }).default({ timeout: 120_000 }),
    nginx: z
      .strictObject({
        include: absolutePath,
        line: z.string().includes('{port}', { message: 'must contain {port}' }).default('set $service_url http://127.0.0.1:{port};'),
        test: argv.default(['nginx', '-t']),
        reload: argv.default(['nginx', '-s', 'reload']),
        pidFile: absolutePath.default('/run/nginx.pid'),
        url: z.string().refine((u) => /^https?:\/\//.test(u), { message: 'must be an http:// or https:// URL' }).optional(),
        reloadTimeout: duration.default(10_000),
      })
      .optional(),
    stateDir: absolutePath.default('/var/lib/portproof'),
  })
  .superRefine((config, ctx) => {
    if (config.ports.length === 2 && !config.nginx) {
      ctx.addIssue({ code: 'custom', path: ['nginx'], message: 'is required with two ports (blue/green behind nginx)' });
    }
    if (config.ports.length === 1 && config.nginx) {
      ctx.addIssue({ code: 'custom', path: ['nginx'], message: 'needs two ports to switch between' });
    }
  });

/** A validated config with every default filled in. */
export type Config = z.output<typeof configSchema>;
