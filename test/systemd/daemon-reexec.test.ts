import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HookEntry } from '../../src/core/events.ts';
import { agentEnv } from '../../src/lab/agent.ts';
import { hookArgv } from '../support/hooks.ts';
import { BedPorts, startSystemdBed, type BedRevision, type SystemdBed } from '../support/systemd-bed.ts';

// `systemctl daemon-reexec` (a package upgrade of systemd runs it) drops every bus connection for a moment: a
// systemctl call made then fails with "Message recipient disconnected from message bus without replying" or cannot
// connect at all. Each such call is made again: the deployment goes through, and nothing runs unrecorded. The hooks
// run as children of the test, as of the agent (systemd-run --wait would itself lose its bus to the re-exec).

const { blue } = BedPorts;

describe('systemctl daemon-reexec during a deployment', { timeout: 240_000 }, () => {
  let bed: SystemdBed;
  beforeAll(async () => {
    bed = await startSystemdBed('pp-reexec');
  });
  afterAll(async () => {
    await bed?.stop();
  });
  beforeEach(async () => {
    await bed.reset();
  });

  async function runHook(revision: BedRevision, name: HookEntry, event: string) {
    const who = { deploymentId: 'd-REEXEC', applicationName: 'fixture', groupName: 'test', groupId: 'g-1' };
    const env = {
      ...agentEnv({ ...who, event } as Parameters<typeof agentEnv>[0], {}),
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    };
    const argv =
      process.env.PORTPROOF_TEST_FROM_SOURCE === '1' ? hookArgv(name) : [path.join(revision.dir, 'hooks', name)];
    const defined = Object.entries({ ...env, PORTPROOF_BUNDLE_ROOT: revision.dir }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    );
    const run = await bed.container.exec(argv, { env: Object.fromEntries(defined), timeoutMs: 90_000 });
    const lines = run.stdout.split('\n').filter((l) => l !== '');
    return { ...run, verdict: lines.at(-1) ?? '' };
  }

  it('calls lost to the bus reconnect are retried: the deployment is OK, its unit recorded and proved', async () => {
    // start.timeout as a host has it (the default is 120 s), not the tests' 10 s: each re-exec costs the calls it meets
    // their retries, and this test re-executes systemd far more often than any host does.
    const v1 = bed.revision({ versionTag: 'v1', start: { timeout: '60s' }, health: { timeout: '60s' } });
    let reexecs = 0;
    let deploying = true;
    // Re-executing systemd every two seconds while the hooks run: their unit start, status polls and enables meet it.
    const reexec = (async () => {
      while (deploying) {
        if ((await bed.container.systemctl('daemon-reexec')).code === 0) reexecs += 1;
        await sleep(2000);
      }
    })();
    let start: Awaited<ReturnType<typeof runHook>>;
    let validate: Awaited<ReturnType<typeof runHook>> | null = null;
    try {
      start = await runHook(v1, 'start', 'ApplicationStart');
      if (start.code === 0) validate = await runHook(v1, 'validate', 'ValidateService');
    } finally {
      deploying = false;
      await reexec;
    }
    console.info(`start: ${start.verdict}\nvalidate: ${validate?.verdict}\nsystemd re-executed ${reexecs} times`);
    expect(reexecs).toBeGreaterThan(1);
    expect(start.verdict, start.stdout + start.stderr).toMatch(/^portproof ApplicationStart OK: /);
    expect(validate?.verdict, validate?.stdout).toMatch(
      new RegExp(`^portproof ValidateService OK: .*nginx now → ${blue}`),
    );
    // What runs is what the state records: --check finds the recorded unit's process on the live port, healthy.
    const report = await bed.check(v1);
    expect(report.status, JSON.stringify(report.reasons)).toBe(0);
  });
});
