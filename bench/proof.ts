// npm run bench:proof — what proving the switch by requests through nginx costs ValidateService: `validate --port N`
// (a full switch: include, nginx -t, reload, new workers) with nginx.url (the proof) and without (no proof), paired
// in the same rounds against one private nginx with two workers, first idle and then under a client hammering nginx;
// plus `nginx -T` alone, which every hook now runs before it signals or switches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distHooksDir } from '../build/paths.ts';
import { openRevision, type Revision } from '../src/lab/agent.ts';
import { startHammer } from '../src/lab/hammer.ts';
import { nginxSection, startNginx } from '../src/lab/nginx.ts';
import { findFreePorts } from '../src/lab/ports.ts';
import { stopAll } from '../src/lab/processes.ts';
import { writeRevision } from '../src/lab/revision.ts';
import { runCommand } from '../src/core/run-command.ts';
import { ok } from './lib/hook-logs.ts';
import { describeMachine, formatTable, summarize } from './lib/stats.ts';

const Rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const FixtureApp = path.resolve(import.meta.dirname, '../test/fixtures/app.mjs');
const hooksDir = distHooksDir('x64');

const [listen, blue, green] = (await findFreePorts(3)) as [number, number, number];
const nginx = await startNginx({ listenPort: listen, livePort: green, workers: 2 });
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bench-proof-'));

/** A revision of the fixture app whose nginx section probes through nginx (the proof) or does not. */
function revision(proof: boolean, tag: string): Revision {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-rev-'));
  const section = nginxSection(nginx);
  if (!proof) delete section.url;
  const config = {
    app: { name: 'bench', command: [process.execPath, FixtureApp, '--port={port}', `--version-tag=${tag}`] },
    ports: [blue, green],
    health: { url: 'http://127.0.0.1:{port}/actuator/health', interval: '100ms', timeout: '10s', settle: '0s' },
    nginx: section,
    stateDir,
  };
  writeRevision(dir, { config });
  const runner = { deploymentId: `d-PROOF${tag}`, applicationName: 'bench', groupName: 'bench', groupId: 'g-1' };
  return openRevision(dir, { ...runner, hookArgv: (entry) => [path.join(hooksDir, entry)] });
}

/** Round by round, both lanes switch (the order alternating), each to the port the other left. */
async function measure(withProof: Revision, without: Revision) {
  const wall = { proof: [] as number[], none: [] as number[], added: [] as number[] };
  let port = blue;
  for (let round = 0; round < Rounds; round++) {
    const lanes = round % 2 === 0 ? (['proof', 'none'] as const) : (['none', 'proof'] as const);
    const times: Record<string, number> = {};
    for (const lane of lanes) {
      port = port === blue ? green : blue;
      const rev = lane === 'proof' ? withProof : without;
      times[lane] = ok(await rev.run('validate', { args: ['--port', String(port)] }), `${lane} validate`).durationMs;
      wall[lane].push(times[lane]!);
    }
    wall.added.push(times.proof! - times.none!);
  }
  return wall;
}

try {
  // Two deployments: an app on each port, recorded, so every later --port is a switch between two live apps.
  const first = revision(true, 'v1');
  for (const hook of ['start', 'validate'] as const) ok(await first.run(hook), `v1 ${hook}`);
  const second = revision(true, 'v2');
  for (const hook of ['stop', 'start', 'validate'] as const) ok(await second.run(hook), `v2 ${hook}`);
  const withProof = revision(true, 'v2');
  const without = revision(false, 'v2');

  const dump: number[] = [];
  for (let i = 0; i < Rounds; i++) {
    const startedAt = performance.now();
    await runCommand([...nginx.testCommand.slice(0, -1), '-T'], 10_000);
    dump.push(performance.now() - startedAt);
  }
  const idle = await measure(withProof, without);
  const hammer = startHammer(`${nginx.url}/`, { maxDurationMs: 600_000 });
  await hammer.started;
  const loaded = await measure(withProof, without);
  const traffic = await hammer.stop();

  const ms = (samples: number[]) => summarize(samples).median.toFixed(1);
  const rows = [
    ['nginx -T alone (every hook, before anything)', ms(dump), '', ''],
    ['validate --port, idle', ms(idle.none), ms(idle.proof), ms(idle.added)],
    ['validate --port, under load', ms(loaded.none), ms(loaded.proof), ms(loaded.added)],
  ];
  const header = [`median of ${Rounds} (ms)`, 'no proof', 'with proof', 'added (paired)'];
  console.log(formatTable(header, rows));
  console.log(`\ntraffic through nginx during the loaded rounds: ${traffic.sent} requests, ${traffic.failed} failed`);
  const results = { machine: describeMachine(), rounds: Rounds, dump, idle, loaded, traffic: traffic.failed };
  const file = path.resolve(import.meta.dirname, 'results/proof.json');
  fs.writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
} finally {
  await nginx.stop();
  await stopAll();
  // The apps the hooks started are session leaders recorded in the state: stop them with their groups.
  const state = JSON.parse(fs.readFileSync(path.join(stateDir, 'bench', 'state.json'), 'utf8'));
  for (const { pid } of Object.values(state.processes) as { pid: number }[]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  fs.rmSync(stateDir, { recursive: true, force: true });
}
