// The hook log: pino's JSON lines through a synchronous destination that never throws.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHookLogger } from '../../src/runner/logger.ts';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-logger-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

const readLines = (dir: string) => fs.readFileSync(path.join(dir, 'hooks.log'), 'utf8').trim().split('\n');

describe('createHookLogger', () => {
  it("writes pino's line shape: level, time, pid, bindings, fields, msg; errors as type/message/stack", () => {
    const dir = path.join(temp, 'app');
    const log = createHookLogger(dir, { lifecycleEvent: 'ApplicationStop', deploymentId: 'd-1' });
    log.info({ port: 8081 }, 'port free');
    log.child({ step: 'lock' }).error({ err: Object.assign(new Error('busy'), { code: 'EBUSY' }) }, 'failed');
    log.debug({ hidden: true }, 'below the level');
    log.warn('just a message');
    const lines = readLines(dir);
    expect(lines).toHaveLength(3);
    const first = JSON.parse(lines[0]!);
    expect(Object.keys(first)).toEqual(['level', 'time', 'pid', 'lifecycleEvent', 'deploymentId', 'port', 'msg']);
    expect(first).toMatchObject({ level: 30, pid: process.pid, port: 8081, msg: 'port free' });
    expect(new Date(first.time).toISOString()).toBe(first.time);
    expect(JSON.parse(lines[1]!)).toMatchObject({
      level: 50,
      step: 'lock',
      err: { type: 'Error', message: 'busy', code: 'EBUSY' },
    });
    expect(JSON.parse(lines[2]!)).toMatchObject({ level: 40, msg: 'just a message' });
  });

  it('appends to an existing log and writes nothing without a directory', () => {
    const dir = path.join(temp, 'again');
    createHookLogger(dir, {}).info({}, 'one');
    createHookLogger(dir, {}).info({}, 'two');
    expect(readLines(dir).map((l) => JSON.parse(l).msg)).toEqual(['one', 'two']);
    expect(() => createHookLogger(null, {}).error({}, 'nowhere')).not.toThrow();
  });
});
