import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/config/duration.ts';
import { buildConfigJsonSchema } from '../../src/core/config/json-schema.ts';
import { Deadline, deadlineMarginMs } from '../../src/runner/deadline.ts';
import { loadConfig } from '../../src/core/config/load.ts';
import { resolvePort } from '../../src/core/config/resolve-port.ts';
import { HookError } from '../../src/core/errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const valid = `
app:
  name: myapp
  command: [java, -jar, app.jar, "--server.port={port}"]
ports: [8081, 8082]
health:
  url: http://127.0.0.1:{port}/actuator/health
  timeout: 2m
nginx:
  include: /etc/nginx/conf.d/service-url.inc
`;

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yml`);
  fs.writeFileSync(file, text);
  return loadConfig(file, '/opt/bundle', env);
}

function errorOf(text: string): HookError {
  try {
    load(text);
  } catch (error) {
    return error as HookError;
  }
  throw new Error('expected the config to be rejected');
}

describe('loadConfig', () => {
  it('fills defaults: bundle root as cwd, log in the state dir, durations in ms', () => {
    const config = load(valid);
    expect(config.app.cwd).toBe('/opt/bundle');
    expect(config.app.log).toBe('/var/lib/portproof/myapp/app-{port}.log');
    expect(config.health.timeout).toBe(120_000);
    expect(config.stop).toEqual({ signal: 'SIGTERM', grace: 30_000, drain: 30_000 });
    expect(config.nginx?.test).toEqual(['nginx', '-t']);
  });

  it("runs the app from the revision's app/ directory when portproof bundle laid one out", () => {
    const bundle = fs.mkdtempSync(path.join(dir, 'bundle-'));
    const file = path.join(bundle, 'portproof.yml');
    fs.writeFileSync(file, valid);
    expect(loadConfig(file, bundle, {}).app.cwd).toBe(bundle);
    fs.mkdirSync(path.join(bundle, 'app'));
    expect(loadConfig(file, bundle, {}).app.cwd).toBe(path.join(bundle, 'app'));
  });

  it('takes the state dir from PORTPROOF_STATE_DIR', () => {
    expect(load(valid, { PORTPROOF_STATE_DIR: '/tmp/pp' }).stateDir).toBe('/tmp/pp');
  });

  it.each([
    ['an unknown key', valid.replace('ports:', 'prots: [1]\nports:'), 'unknown key prots'],
    [
      'an unknown nested key',
      valid.replace('  timeout: 2m', '  timeout: 2m\n  retries: 3'),
      'unknown key health.retries',
    ],
    [
      'a string for a list',
      valid.replace('[8081, 8082]', '"8081"'),
      'ports: must be a list of one or two ports, like [8081, 8082], got the string "8081"',
    ],
    [
      'a command as one string',
      valid.replace(/command: .*/, 'command: java -jar app.jar'),
      'app.command: must be a list like [java, -jar, app.jar], got the string "java -jar app.jar"',
    ],
    [
      'a port with a fraction',
      valid.replace('8081', '8081.5'),
      'ports.0: must be a whole number from 1 to 65535, got 8081.5',
    ],
    [
      'a map for a path',
      valid.replace('include: /etc/nginx/conf.d/service-url.inc', 'include: { a: 1 }'),
      'nginx.include: must be an absolute path, got a map',
    ],
    [
      'nothing for a URL',
      valid.replace('url: http://127.0.0.1:{port}/actuator/health', 'url:'),
      'health.url: must be an http:// or https:// URL, got nothing',
    ],
    ['a boolean in a command', valid.replace('app.jar,', 'true,'), 'app.command.2: must be text (quote it), got true'],
    [
      'a bad signal',
      valid.replace('  timeout: 2m', '  timeout: 2m\nstop: { signal: TERM }'),
      'stop.signal: must be one of SIGTERM',
    ],
    ['a bad duration', valid.replace('2m', '2 minutes'), 'health.timeout: "2 minutes" is not a duration'],
    [
      'a port out of range',
      valid.replace('8082', '70000'),
      'ports.1: must be a whole number from 1 to 65535, got 70000',
    ],
    ['a repeated port', valid.replace('8082', '8081'), 'ports: must not repeat a port'],
    [
      'a relative path',
      valid.replace('/etc/nginx/conf.d/service-url.inc', 'service-url.inc'),
      'nginx.include: must be an absolute path',
    ],
    ['two ports without nginx', valid.replace(/nginx:\n.*\n/, ''), 'nginx: is required with two ports'],
    ['a missing app', valid.replace(/app:\n( {2}.*\n)+/, ''), 'app: is required'],
    ['invalid YAML', 'app: [\n', 'not valid YAML'],
    ['an app name ".." (state above stateDir)', valid.replace('name: myapp', 'name: ".."'), 'app.name: may hold only'],
    [
      'an app name "."',
      valid.replace('name: myapp', 'name: .'),
      'app.name: may hold only letters, digits, ".", "_" ' + 'and "-", and may not be "." or ".."',
    ],
    ['an app name with a slash', valid.replace('name: myapp', 'name: a/b'), 'app.name: may hold only'],
  ])('rejects %s with one line naming the key', (_what, text, expected) => {
    const error = errorOf(text);
    expect(error).toBeInstanceOf(HookError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
  });

  it('lists every problem of a file at once, a line each, the verdict naming the first', () => {
    const error = errorOf(
      valid
        .replace('[8081, 8082]', '"8081"')
        .replace(/command: .*/, 'command: java -jar app.jar')
        .replace('2m', 'soon'),
    );
    expect(error.message).toMatch(/: app\.command: must be a list like .* \(and 2 more problems above\)$/);
    expect(error.context.evidence).toEqual([
      expect.stringMatching(
        /\.yml: app\.command: must be a list like \[java, -jar, app\.jar\], got the string "java -jar app\.jar"$/,
      ),
      expect.stringMatching(
        /\.yml: ports: must be a list of one or two ports, like \[8081, 8082\], got the string "8081"$/,
      ),
      expect.stringMatching(/\.yml: health\.timeout: "soon" is not a duration/),
    ]);
  });

  it.each([
    ['start.timeout', 'start: { timeout: 120 }', 'start.timeout: 120 has no unit: write 120s'],
    ['stop.grace', 'stop: { grace: 10 }', 'stop.grace: 10 has no unit: write 10s'],
  ])('refuses a bare-number duration for %s, naming the key and the fix', (_key, line, expected) => {
    const error = errorOf(`${valid}${line}\n`);
    expect([error.exitCode, error.message]).toEqual([2, expect.stringMatching(new RegExp(`: ${expected} `))]);
  });

  it('takes a bare 0 as a duration: zero needs no unit', () => {
    expect(load(valid.replace('  timeout: 2m', '  timeout: 2m\n  settle: 0')).health.settle).toBe(0);
  });

  it('leads with the unknown key, and the key it meant, when a misspelt key is also why another is missing', () => {
    const error = errorOf(valid.replace('health:', 'helth:'));
    expect(error.message).toMatch(/: unknown key helth \(did you mean health\?\) \(and 1 more problem above\)$/);
    expect(errorOf(valid.replace('  timeout: 2m', '  timout: 2m')).message).toContain(
      'unknown key health.timout (did you mean timeout?)',
    );
    expect(errorOf(valid.replace('ports:', 'zzz: 1\nports:')).message).toMatch(/unknown key zzz$/);
    expect(errorOf(`${valid}stop: { signal: SIGTREM }\n`).message).toContain('stop.signal: must be one of SIGTERM');
    expect(errorOf(`${valid}stop: { signal: SIGTREM }\n`).message).toContain('(did you mean SIGTERM?), got the string');
  });

  it('refuses a blue/green health.url without {port}: both ports would be checked on one', () => {
    const error = errorOf(valid.replace('127.0.0.1:{port}', '127.0.0.1:8081'));
    expect(error.message).toContain('health.url: must contain {port} with two ports');
  });

  it('ends a YAML error without the colon that introduced the excerpt', () => {
    const message = errorOf('app: [\n').message;
    expect(message).toContain('not valid YAML');
    expect(message).not.toMatch(/:\s*$/);
  });

  it('never echoes an app.env value or a URL password in a message', () => {
    const withEnv = valid.replace('  name: myapp', '  name: myapp\n  env: { DB_PASSWORD: 123456789 }');
    expect(errorOf(withEnv).message).toMatch(/app\.env\.DB_PASSWORD: must be text \(quote it\)$/);
    const withUrl = valid.replace('http://127.0.0.1:{port}/actuator/health', 'ftp://mon:S3cr3t@127.0.0.1/');
    expect(errorOf(withUrl).message).toContain('got the string "ftp://mon:***@127.0.0.1/"');
    expect(errorOf(withUrl).message).not.toContain('S3cr3t');
  });

  it('takes a number in a command as its text', () => {
    expect(load(valid.replace(/command: .*/, 'command: [python3, -m, http.server, 8080]')).app.command).toEqual([
      'python3',
      '-m',
      'http.server',
      '8080',
    ]);
  });

  it('names a missing file', () => {
    expect(() => loadConfig(path.join(dir, 'nope.yml'), dir)).toThrow(/nope\.yml: not found/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1.5s', 1500],
    [250, 250],
    [0, 0],
    ['5', null],
    ['s', null],
  ])('%s → %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('Deadline', () => {
  it('counts from the process start, not from when it was made', () => {
    const deadline = new Deadline(60_000);
    expect(deadline.startedAt).toBe(Math.round(performance.timeOrigin));
    expect(deadline.at).toBe(Math.round(performance.timeOrigin) + 60_000 - deadlineMarginMs(60_000));
  });
});

describe('buildConfigJsonSchema', () => {
  it('is what the committed portproof.schema.json holds (UPDATE_SCHEMA=1 rewrites it)', () => {
    const file = path.resolve(import.meta.dirname, '../../portproof.schema.json');
    const built = `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === '1') fs.writeFileSync(file, built);
    expect(fs.readFileSync(file, 'utf8')).toBe(built);
  });

  it('is named by the example config for editors', () => {
    const example = fs.readFileSync(path.resolve(import.meta.dirname, '../../portproof.example.yml'), 'utf8');
    expect(example.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=\S*portproof\.schema\.json$/);
  });

  it('publishes the same keys the loader accepts, strictly', () => {
    const schema = buildConfigJsonSchema() as {
      properties: Record<string, { additionalProperties?: boolean }>;
      additionalProperties: boolean;
      required: string[];
    };
    expect(Object.keys(schema.properties).sort()).toEqual([
      'app',
      'health',
      'keep',
      'nginx',
      'ports',
      'start',
      'stateDir',
      'stop',
    ]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.app?.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['app', 'ports', 'health']));
  });
});

describe('resolvePort', () => {
  it('fills in {port} once for the argv, the log, the health URL and the include line', () => {
    const config = load(`${valid}  line: "set $service_url http://127.0.0.1:{port}"\n`);
    const resolved = resolvePort(config, 8082);
    expect(resolved.argv).toEqual(['java', '-jar', 'app.jar', '--server.port=8082']);
    expect(resolved.healthUrl).toBe('http://127.0.0.1:8082/actuator/health');
    expect(resolved.includeLine).toBe('set $service_url http://127.0.0.1:8082;');
    expect(resolved.logFile).not.toContain('{port}');
  });

  it('has no include line without nginx', () => {
    const config = load(
      'app:\n  name: a\n  command: [run, "{port}"]\nports: [8080]\nhealth:\n  url: http://127.0.0.1:{port}/\n',
    );
    expect(resolvePort(config, 8080)).toMatchObject({ port: 8080, argv: ['run', '8080'], includeLine: null });
  });
});
