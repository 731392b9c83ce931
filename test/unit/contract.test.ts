import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHookTimeoutSeconds } from '../../src/core/codedeploy/appspec.ts';
import { readCodeDeployEnv } from '../../src/core/codedeploy/env.ts';
import { parseIncludePort, renderInclude } from '../../src/core/nginx/include.ts';
import { LogTailBudgetChars, readLogTail } from '../../src/core/process/log-tail.ts';
import { HookError } from '../../src/core/errors.ts';
import { failedVerdict } from '../../src/runner/verdict.ts';
import { parseHookArgs } from '../../src/runner/args.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('appspec timeout', () => {
  it('reads the timeout of the entry that names this executable', () => {
    fs.writeFileSync(
      path.join(dir, 'appspec.yml'),
      'version: 0.0\nos: linux\nhooks:\n  ValidateService:\n    - location: hooks/other\n      timeout: 30\n    - location: hooks/validate\n      timeout: 90\n',
    );
    expect(readHookTimeoutSeconds(dir, 'ValidateService', path.join(dir, 'hooks/validate'))).toBe(90);
    expect(readHookTimeoutSeconds(dir, 'ValidateService', '/elsewhere')).toBe(30);
    expect(readHookTimeoutSeconds(dir, 'ApplicationStart', '/elsewhere')).toBe(3600);
    expect(readHookTimeoutSeconds(path.join(dir, 'missing'), 'ValidateService')).toBe(3600);
  });

  it("reads a timeout above CodeDeploy's 3600 s maximum as 3600 (a timer cannot hold 99999999999 s)", () => {
    const big = path.join(dir, 'big');
    fs.mkdirSync(big);
    fs.writeFileSync(
      path.join(big, 'appspec.yml'),
      'hooks:\n  ValidateService:\n    - location: hooks/validate\n      timeout: 99999999999\n',
    );
    expect(readHookTimeoutSeconds(big, 'ValidateService')).toBe(3600);
  });
});

describe('--port', () => {
  it('takes decimal digits only: hex, exponents, signs and spaces are a usage error (exit 2)', () => {
    expect(parseHookArgs(['--port', '8081'], true).port).toBe(8081);
    expect(parseHookArgs(['--port', '08081'], true).port).toBe(8081);
    for (const bad of ['0x1F91', '1e3', '+8081', ' 8081', '8081.0', '0', '65536', '0b1', '']) {
      let thrown: unknown;
      try {
        parseHookArgs(['--port', bad], true);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, bad).toBeInstanceOf(HookError);
      expect((thrown as HookError).exitCode).toBe(2);
      expect((thrown as HookError).message).toBe(`--port ${bad}: not a port (1-65535)`);
    }
  });
});

describe('CodeDeploy environment', () => {
  it('tells a deployment from a person at the keyboard', () => {
    expect(readCodeDeployEnv({})).toBeNull();
    expect(
      readCodeDeployEnv({ LIFECYCLE_EVENT: 'ValidateService', DEPLOYMENT_ID: 'd-ABC', APPLICATION_NAME: 'a' }),
    ).toMatchObject({ deploymentId: 'd-ABC', applicationName: 'a' });
  });
});

describe('nginx include', () => {
  it('round-trips the configured line, tolerating whitespace', () => {
    const line = 'set $service_url http://127.0.0.1:{port};';
    expect(parseIncludePort(renderInclude(line, 8082), line)).toBe(8082);
    expect(parseIncludePort('# live\nset  $service_url   http://127.0.0.1:8081;\n', line)).toBe(8081);
    expect(parseIncludePort('set $service_url http://10.0.0.1:8081;', line)).toBeNull();
  });
});

describe('the console log tail', () => {
  it('keeps the newest app lines, each cut, within the budget left for the verdict', () => {
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(
      log,
      `old line\n${Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(300)}`).join('\n')}\n`,
    );
    const tail = readLogTail(log, 0, undefined);
    expect(tail.length).toBeGreaterThan(3);
    expect(tail.length).toBeLessThanOrEqual(20);
    expect(tail.at(-1)).toMatch(/^line 39 /);
    expect(tail.every((l) => l.length <= 200)).toBe(true);
    expect(tail.join('\n').length).toBeLessThanOrEqual(LogTailBudgetChars);
  });

  it('shows only what this start wrote', () => {
    const log = path.join(dir, 'offset.log');
    fs.writeFileSync(log, 'previous run\n');
    const offset = fs.statSync(log).size;
    fs.appendFileSync(log, 'Port 8082 was already in use\n');
    expect(readLogTail(log, offset, undefined)).toEqual(['Port 8082 was already in use']);
  });

  it('puts the verdict last, after its evidence', () => {
    const lines = failedVerdict(
      'ApplicationStart',
      new HookError('START_EXITED', 'new PID 1 exited', { evidence: ['a', 'b'] }),
    );
    expect(lines).toEqual(['a', 'b', 'portproof ApplicationStart FAILED: new PID 1 exited']);
  });
});
