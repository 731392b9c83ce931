import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LifecycleEvent } from '../../src/core/events.ts';
import { writeRevision } from '../../src/lab/revision.ts';
import { openRevision, type Revision } from '../../src/lab/agent.ts';
import { FixtureAppPath } from './app.ts';
import { budgetFrom } from './budget.ts';
import { hookArgv } from './hooks.ts';

// The hook tests' revision: the fixture app with test defaults, written and run by the lab (src/lab).

/** How a test revision differs from the defaults. */
export interface RevisionOptions {
  ports: number[];
  /** Extra flags for the fixture app (--stop-delay=8000, --health=500, …). */
  appFlags?: string[];
  versionTag?: string;
  /** Shared between revisions of one app, as /var/lib/portproof is on a host. */
  stateDir: string;
  nginx?: Record<string, unknown>;
  health?: Record<string, unknown>;
  stop?: Record<string, unknown>;
  start?: Record<string, unknown>;
  app?: Record<string, unknown>;
  /** appspec.yml timeouts in seconds per event. */
  timeouts?: Partial<Record<LifecycleEvent, number>>;
  /** Where the revision directory is made; default the temp directory. */
  parentDir?: string;
  /** Link the compiled hooks from here into the revision's hooks/, as a bundle carries them. */
  hooksDir?: string;
  /** How long the fixture app took to start and answer just now (test/support/pace.ts): the budgets scale with it. */
  paceMs?: number;
}

/** Write a revision (bundle) directory for the fixture app and a runner for its hooks with CodeDeploy's environment. */
export function makeRevision(
  options: RevisionOptions,
  deploymentId = `d-${Math.random().toString(36).slice(2, 11).toUpperCase()}`,
): Revision {
  const dir = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'portproof-rev-'));
  const pace = options.paceMs ?? 0;
  const config = {
    app: {
      name: 'fixture',
      command: [
        process.execPath,
        FixtureAppPath,
        '--port={port}',
        `--version-tag=${options.versionTag ?? 'v1'}`,
        ...(options.appFlags ?? []),
      ],
      // Outside a container a test never writes units into the host's systemd: the systemd bed passes `auto`.
      supervisor: 'direct',
      ...options.app,
    },
    ports: options.ports,
    health: {
      url: 'http://127.0.0.1:{port}/actuator/health',
      interval: '200ms',
      // Budgets from the machine's pace, never below what an idle machine needs: a loaded one gets more time.
      timeout: `${budgetFrom(pace, 20, 10_000)}ms`,
      requestTimeout: `${budgetFrom(pace, 4, 2000)}ms`,
      // Short, not off: every hook test passes through the settle check without waiting the default 5 s.
      settle: '300ms',
      ...options.health,
    },
    stop: { grace: '15s', ...options.stop },
    start: { timeout: `${budgetFrom(pace, 20, 10_000)}ms`, ...options.start },
    ...(options.nginx ? { nginx: options.nginx } : {}),
    stateDir: options.stateDir,
  };
  writeRevision(dir, { config, timeouts: options.timeouts, hooksDir: options.hooksDir });
  return openRevision(dir, { hookArgv, deploymentId, applicationName: 'fixture', groupName: 'test', groupId: 'g-1' });
}
