import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.ts';
import { chooseSupervisor } from '../../src/core/supervisor/choose.ts';
import { makeRevision } from '../support/deployment.ts';

// The hook tests never touch the host's systemd (issue 18, item 9): outside a container, where PID 1 may well be
// systemd (a laptop, a CI VM), a test revision runs its app directly and writes no unit into /etc/systemd/system.

const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-untouched-'));
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

describe("the host's systemd", () => {
  it('a hook test revision is direct even where PID 1 is systemd; it may still ask for systemd itself', () => {
    const revision = makeRevision({ ports: [8081], stateDir: parent, parentDir: parent });
    const config = loadConfig(revision.configPath, revision.dir, {});
    expect(chooseSupervisor(config, true)).toBe('direct');
    const own = makeRevision({ ports: [8081], stateDir: parent, parentDir: parent, app: { supervisor: 'auto' } });
    expect(chooseSupervisor(loadConfig(own.configPath, own.dir, {}), true)).toBe('systemd');
  });
});
