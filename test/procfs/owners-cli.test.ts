import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForPort } from '../../src/lab/net.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { startApp } from '../support/app.ts';

afterAll(stopAll);

const cli = path.resolve(import.meta.dirname, '../../bin/portproof.js');
const owners = (...args: string[]) => spawnSync(process.execPath, [cli, 'owners', ...args], { encoding: 'utf8' });

describe('portproof owners', () => {
  it('prints each listener with its owners, as text and as JSON', async () => {
    const port = await findFreePort();
    const app = startApp([`--port=${port}`, '--host=::']);
    await waitForPort(port, 5000, '::1');
    const json = owners(String(port), '--json');
    expect(json.status).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({
      port,
      listeners: [{ address: '::', family: 6, owners: [{ pid: app.pid, user: 'root' }] }],
    });
    expect(doc.listeners[0].owners[0].command).toContain('app.mjs');
    expect(typeof doc.listeners[0].inode).toBe('number');
    expect(typeof doc.listeners[0].owners[0].startTime).toBe('number');
    const text = owners(String(port));
    expect(text.stdout).toMatch(
      new RegExp(
        `\\[::\\]:${port} \\(socket \\d+\\)\\n  PID ${app.pid} \\(.*app\\.mjs.*, root, started \\d\\d:\\d\\d:\\d\\d\\) fd \\d+`,
      ),
    );
  });

  it('says when nothing listens', async () => {
    const port = await findFreePort();
    expect(owners(String(port)).stdout.trim()).toBe(`nothing listens on port ${port}`);
  });

  it.each([['0'], ['65536'], ['http'], ['80.5']])('rejects port %s with one line and exit 2', (port) => {
    const run = owners(port);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('is not a port (1-65535)');
  });
});
