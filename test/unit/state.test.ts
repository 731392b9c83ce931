import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findRecord,
  forgetPort,
  readState,
  recordStart,
  recordSwitch,
  writeState,
} from '../../src/core/state/state.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-state-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function dirWith(content: string | null): string {
  const dir = fs.mkdtempSync(path.join(root, 's-'));
  if (content !== null) fs.writeFileSync(path.join(dir, 'state.json'), content);
  return dir;
}

const record = {
  pid: 42,
  startTime: 1234,
  bootId: 'b',
  command: 'java -jar app.jar',
  user: 'app',
  startedAt: '2026-11-25T10:00:00.000Z',
  deploymentId: 'd-1',
  log: '/l',
};

describe('state', () => {
  it('treats a missing file as a first deployment, without a problem', () => {
    expect(readState(dirWith(null))).toMatchObject({ processes: {}, lastStarted: null, problem: null });
  });

  it('reports a corrupt file and trusts nothing in it', () => {
    const state = readState(dirWith('{"processes": {"8081": '));
    expect(state.processes).toEqual({});
    expect(state.problem).toMatch(/corrupt/);
  });

  it("reads a newer release's file: unknown fields ignored, and kept on rewrite", () => {
    const dir = dirWith(
      JSON.stringify({
        schema: 7,
        lastStarted: 8082,
        future: { x: 1 },
        processes: { '8082': { ...record, cgroup: '/x' }, '8081': { pid: 'not a number' } },
      }),
    );
    const state = readState(dir);
    expect(state.lastStarted).toBe(8082);
    expect(state.processes['8082']).toMatchObject({ pid: 42, startTime: 1234 });
    expect(state.processes['8081']).toBeUndefined();
    state.live = 8082;
    writeState(dir, state);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    expect(written).toMatchObject({ schema: 7, future: { x: 1 }, live: 8082 });
    expect(written.processes['8081']).toEqual({ pid: 'not a number' });
  });

  it("reads an older release's record with fields missing, filling defaults", () => {
    const state = readState(dirWith(JSON.stringify({ processes: { '8081': { pid: 7, startTime: 9, bootId: 'b' } } })));
    expect(state.processes['8081']).toMatchObject({ pid: 7, command: '', deploymentId: null });
  });

  it('writes atomically: no temporary file is left beside state.json', () => {
    const dir = dirWith(null);
    writeState(dir, {
      processes: { '8081': record },
      lastStarted: 8081,
      live: null,
      previous: null,
      switching: null,
      problem: null,
      raw: {},
    });
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
    expect(readState(dir).processes['8081']).toEqual(record);
  });
});

describe('state verbs', () => {
  it('records a start, a switch, and forgets a port', () => {
    const dir = dirWith(null);
    const state = readState(dir);
    recordStart(state, 8082, record);
    expect(state.lastStarted).toBe(8082);
    expect(findRecord(state, 8082)).toEqual(record);
    const switched = recordSwitch(state, 8082, 8081);
    expect(switched).toMatchObject({ live: 8082, previous: 8081 });
    writeState(dir, switched);
    const again = readState(dir);
    expect(again).toMatchObject({ live: 8082, previous: 8081, lastStarted: 8082 });
    expect(forgetPort(again, 8082)).toBe(true);
    expect(forgetPort(again, 8082)).toBe(false);
    expect(findRecord(again, 8082)).toBeUndefined();
  });
});
