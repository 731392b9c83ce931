import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/config/duration.ts';
import { buildConfigJsonSchema } from '../../src/core/config/json-schema.ts';
import { loadConfig } from '../../src/core/config/load.ts';
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
    expect(config.stop).toEqual({ signal: 'SIGTERM', grace: 30_000 });
    expect(config.nginx?.test).toEqual(['nginx', '-t']);
  });

  it('takes the state dir from PORTPROOF_STATE_DIR', () => {
    expect(load(valid, { PORTPROOF_STATE_DIR: '/tmp/pp' }).stateDir).toBe('/tmp/pp');
  });

  it.each([
    ['an unknown key', valid.replace('ports:', 'prots: [1]\nports:'), 'unknown key prots'],
    ['an unknown nested key', valid.replace('  timeout: 2m', '  timeout: 2m\n  retries: 3'), 'unknown key health.retries'],
    ['a wrong type', valid.replace('[8081, 8082]', '"8081"'), 'ports:'],
    ['a bad duration', valid.replace('2m', '2 minutes'), 'health.timeout: "2 minutes" is not a duration'],
    ['a port out of range', valid.replace('8082', '70000'), 'ports.1: must be a port from 1 to 65535'],
    ['a repeated port', valid.replace('8082', '8081'), 'ports: must not repeat a port'],
    ['a relative path', valid.replace('/etc/nginx/conf.d/service-url.inc', 'service-url.inc'), 'nginx.include: must be an absolute path'],
    ['two ports without nginx', valid.replace(/nginx:\n.*\n/, ''), 'nginx: is required with two ports'],
    ['a missing app', valid.replace(/app:\n(  .*\n)+/, ''), 'app: is required'],
    ['invalid YAML', 'app: [\n', 'not valid YAML'],
  ])('rejects %s with one line naming the key', (_what, text, expected) => {
    const error = errorOf(text);
    expect(error).toBeInstanceOf(HookError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
  });

  it('names a missing file', () => {
    expect(() => loadConfig(path.join(dir, 'nope.yml'), dir)).toThrow(/nope\.yml: not found/);
  });
});

describe('parseDuration', () => {
  it.each([['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['1.5s', 1500], [250, 250], ['5', null], ['s', null]])('%s → %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('buildConfigJsonSchema', () => {
  it('publishes the same keys the loader accepts, strictly', () => {
    const schema = buildConfigJsonSchema() as { properties: Record<string, { additionalProperties?: boolean }>; additionalProperties: boolean; required: string[] };
    expect(Object.keys(schema.properties).sort()).toEqual(['app', 'health', 'nginx', 'ports', 'start', 'stateDir', 'stop']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.app?.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['app', 'ports', 'health']));
  });
});
