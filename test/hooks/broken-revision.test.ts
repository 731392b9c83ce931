import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { cleanUpHookTests, deployed, expectVerdict, isAlive, remember } from '../support/hook-tests.ts';

// CodeDeploy runs ApplicationStop from the last installed revision: a broken portproof.yml there must not block
// every deployment after it (issue 19). The compiled hook, as the agent runs it.

afterEach(async () => stopAll());

function editConfig(file: string, edit: (config: Record<string, unknown>) => void): void {
  const config = parse(fs.readFileSync(file, 'utf8'));
  edit(config);
  fs.writeFileSync(file, stringify(config));
}
afterAll(cleanUpHookTests);

describe('ApplicationStop with a config it cannot use', () => {
  it('not valid YAML: WARNING, exit 0, nothing stopped, the ports it names unknown', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    fs.writeFileSync(revision.configPath, 'ports: [8081\napp: {\n');
    const run = await revision.run('stop');
    expect(run.code).toBe(0);
    expect(run.verdict).toMatch(
      new RegExp(
        `^portproof ApplicationStop WARNING: config ${revision.configPath} line \\d+: not valid YAML: .*; ` +
          'stopped nothing \\(the ports it names are unknown\\); ApplicationStart frees its port itself$',
      ),
    );
    expect(isAlive(pid)).toBe(true);
  });

  it('a key that fails validation: WARNING naming the key and who still holds the port', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    editConfig(revision.configPath, (config) => {
      config.stop = { grace: 'soon' };
    });
    const run = await revision.run('stop');
    expect(run.code).toBe(0);
    expect(run.verdict).toContain('portproof ApplicationStop WARNING: config ');
    expect(run.verdict).toContain('stop.grace');
    expect(run.verdict).toContain(`stopped nothing (the ports it names are unknown)`);
    expect(isAlive(pid)).toBe(true);
  });

  it('a config that reads but fails the host checks: WARNING naming the port still held', async () => {
    const port = await findFreePort();
    const { stateDir, revision } = await deployed({ ports: [port] });
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    editConfig(revision.configPath, (config) => {
      (config.app as Record<string, unknown>).user = 'portproof-no-such-user';
    });
    const run = await revision.run('stop');
    expect(run.code).toBe(0);
    expect(run.verdict).toContain('app.user: no user "portproof-no-such-user"');
    expect(run.verdict).toContain(`stopped nothing (port ${port} held by PID ${pid} (`);
    expect(isAlive(pid)).toBe(true);
  });

  it('a config it can use keeps the strict behaviour: start and validate still fail with exit 2', async () => {
    const port = await findFreePort();
    const { revision } = await deployed({ ports: [port] });
    fs.writeFileSync(revision.configPath, 'ports: [8081\n');
    for (const hook of ['start', 'validate'] as const) {
      const run = await revision.run(hook);
      expect(run.code, hook).toBe(2);
      expect(run.verdict, hook).toMatch(/ FAILED: config .*not valid YAML/);
    }
  });
});
