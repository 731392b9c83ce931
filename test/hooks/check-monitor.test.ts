import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  nginxSection,
  remember,
  useBlueGreenBed,
  probedTo,
} from '../support/hook-tests.ts';

// --check as a monitor runs it every minute: the running nginx is checked (master alive and nginx, workers, one
// request through nginx.url attributed to the live app), each state has its own exit code, and --json prints JSON
// whatever happens, a usage or config error included.

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;
useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

interface Report {
  status: number;
  healthy: boolean;
  reasons: string[];
  nginx: { masterPid: number | null; workers: number; probe: string | null; problem: string | null } | null;
  error?: { code: string; message: string };
}

/** v1 deployed on blue behind nginx; its revision and the PID that serves. */
async function v1Live() {
  const { revision } = await deployed({ ports: [blue, green], versionTag: 'v1', stateDir, nginx: nginxSection(nginx) });
  expectVerdict(await revision.run('stop'), 'ApplicationStop', 'OK');
  expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
  expectVerdict(await revision.run('validate'), 'ValidateService', 'OK', `nginx now → ${blue}`);
  return { revision, pid: remember(stateDir, blue) };
}

async function check(revision: Awaited<ReturnType<typeof v1Live>>['revision'], args: string[] = []) {
  const run = await revision.run('validate', { args: ['--check', '--json', ...args] });
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`--check --json printed no JSON (exit ${run.code}):\n${run.stdout}${run.stderr}`);
  }
  expect(report.status, run.stdout).toBe(run.code);
  return report;
}

/** SIGKILL the processes whose identity was just read (nginx's orphaned workers after its master was killed). */
function killReread(pids: number[], startTimes: Map<number, number>): void {
  for (const pid of pids) {
    if (readProcessInfo(pid)?.startTime !== startTimes.get(pid)) continue;
    process.kill(pid, 'SIGKILL');
  }
}

describe('--check as a monitor: the running nginx and its own exit codes', () => {
  it('healthy: 0, with the master, its workers and one request through nginx attributed to the live PID', async () => {
    const { revision, pid } = await v1Live();
    const report = await check(revision);
    expect(report.status, report.reasons.join('; ')).toBe(0);
    expect(report.nginx).toMatchObject({ masterPid: nginx.masterPid(), problem: null });
    expect(report.nginx!.workers).toBeGreaterThan(0);
    expect(report.nginx!.probe).toMatch(probedTo(pid));
    const text = await revision.run('validate', { args: ['--check'] });
    console.info(`healthy: exit ${text.code}: ${text.verdict}`);
    expect(text.lines.some((line) => probedTo(pid).test(line.replace(/^nginx: /, '')))).toBe(true);
    expect(text.verdict).toMatch(/^portproof ValidateService OK: /);
  });

  it('nginx stopped: exit 7, "nginx is not running"', async () => {
    const { revision } = await v1Live();
    // `nginx -s stop`, as systemctl stop nginx does: its files stay, its pid file goes.
    execFileSync(nginx.reloadCommand[0]!, [...nginx.reloadCommand.slice(1, -1), 'stop']);
    for (const until = Date.now() + 10_000; fs.existsSync(nginx.pidFile) && Date.now() < until; ) await sleep(50);
    const report = await check(revision);
    expect(report.status).toBe(7);
    expect(report.reasons[0]).toMatch(
      /^nginx is not running \((no pid file|pid file .* is empty|pid file .* names PID \d+, which is gone)/,
    );
    const text = await revision.run('validate', { args: ['--check'] });
    console.info(`nginx stopped: exit ${text.code}: ${text.verdict}`);
    expect(text.code).toBe(7);
    expect(text.verdict).toMatch(/^portproof ValidateService UNHEALTHY: nginx is not running/);
  });

  it('nginx crashed (kill -9 of its master, workers orphaned): exit 7, the master named as gone', async () => {
    const { revision } = await v1Live();
    const master = nginx.masterPid();
    const workers = nginx.workerPids();
    const startTimes = new Map(workers.map((w) => [w, readProcessInfo(w)?.startTime ?? -1]));
    process.kill(master, 'SIGKILL');
    try {
      const report = await check(revision);
      console.info(`nginx crashed: exit ${report.status}: ${report.reasons[0]}`);
      expect(report.status).toBe(7);
      expect(report.reasons[0]).toContain(`names PID ${master}, which is gone`);
    } finally {
      killReread(workers, startTimes);
    }
  });

  it('an interrupted switch (state "switching", include rewritten, nginx never reloaded): exit 8, and stop refuses', async () => {
    const { revision } = await v1Live();
    const file = path.join(stateDir, 'fixture', 'state.json');
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    // What a hook killed between the include's write and nginx's reload leaves behind.
    fs.writeFileSync(
      file,
      JSON.stringify({ ...state, switching: { from: blue, to: green, at: '2026-12-06T23:00:00Z' } }),
    );
    nginx.writeInclude(green);
    const report = await check(revision);
    console.info(`interrupted switch: exit ${report.status}: ${report.reasons[0]}`);
    expect(report.status).toBe(8);
    expect(report.reasons[0]).toMatch(
      new RegExp(
        `^a switch ${blue} → ${green} was interrupted at .*: the include names port ${green} but nginx's workers .* predate it: nginx may still serve port ${blue}`,
      ),
    );
    const stop = await revision.run('stop');
    expectVerdict(
      stop,
      'ApplicationStop',
      'FAILED',
      `a switch ${blue} → ${green} was interrupted`,
      'nothing was signalled',
    );
  });

  it('--json prints JSON for a config error (exit 2) and a usage error (exit 2)', async () => {
    const { revision } = await v1Live();
    fs.appendFileSync(revision.configPath, 'helth: {}\n');
    const bad = await check(revision);
    expect(bad).toMatchObject({ status: 2, healthy: false, error: { code: 'BAD_CONFIG' } });
    expect(bad.reasons[0]).toMatch(/helth/);
    const usage = await check(revision, ['--bogus']);
    expect(usage).toMatchObject({ status: 2, healthy: false, error: { code: 'BAD_USAGE' } });
  });
});
