// npm run bench [-- --quick] — zero-downtime proof: K blue/green deployments under steady load through a private
// nginx, with portproof's compiled hooks and with the widely copied shell recipe, side by side in one run.
import fs from 'node:fs';
import path from 'node:path';
import { describeMachine } from './lib/stats.ts';
import { renderDeploymentChart } from './deploy/chart.ts';
import { formatSummaries, summarizeRun } from './deploy/report.ts';
import { LoadClients, LoadRate, runScenario, type ScenarioResult, type Setting } from './deploy/scenario.ts';

const quick = process.argv.includes('--quick');
// 0/3/8 s shutdowns as asked; 18 s is the 502 story itself: longer than the recipe's 5 s + 10 s of sleeps.
const Story = 18_000;
const grid: Setting[] = quick
  ? [{ shutdownMs: Story, startMs: 500, deployments: 1 }]
  : [
      { shutdownMs: 0, startMs: 500, deployments: 3 },
      { shutdownMs: 3000, startMs: 500, deployments: 3 },
      { shutdownMs: 3000, startMs: 3000, deployments: 3 },
      { shutdownMs: 8000, startMs: 500, deployments: 1 },
      { shutdownMs: Story, startMs: 500, deployments: 1 },
    ];

const results: ScenarioResult[] = [];
for (const setting of grid) {
  for (const kind of ['portproof', 'baseline'] as const) {
    const stops = `old app stops ${setting.shutdownMs / 1000} s after SIGTERM`;
    const starts = `new one starts in ${setting.startMs / 1000} s`;
    console.log(`running ${kind}: ${stops}, ${starts}, ${setting.deployments} deployment(s)`);
    results.push(await runScenario(kind, setting));
  }
}
const summaries = results.map(summarizeRun);
console.log(`\n${formatSummaries(summaries)}\n`);
const ratios = grid.map((setting, i) => {
  const [mine, theirs] = [summaries[2 * i]!, summaries[2 * i + 1]!];
  return {
    shutdownS: setting.shutdownMs / 1000,
    startS: setting.startMs / 1000,
    wallRatio: Number((mine.medianWallS / theirs.medianWallS).toFixed(2)),
  };
});
for (const r of ratios)
  console.log(`deploy wall time portproof/recipe at ${r.shutdownS} s shutdown, ${r.startS} s start: ${r.wallRatio}`);

const outDir = path.resolve(import.meta.dirname, 'results');
fs.mkdirSync(outDir, { recursive: true });
const name = quick ? 'deploy-quick' : 'deploy';
fs.writeFileSync(
  path.join(outDir, `${name}.json`),
  `${JSON.stringify(
    {
      machine: describeMachine(),
      load: { requestsPerSecond: LoadRate, clients: LoadClients, connection: 'a new one per request' },
      quick,
      summaries,
      ratios,
      runs: results.map((r) => ({
        ...r,
        buckets: r.buckets.map(({ latencies, ...b }) => ({ ...b, requests: latencies.length })),
      })),
    },
    null,
    2,
  )}\n`,
);
const story = grid.findIndex((s) => s.shutdownMs === Story);
fs.writeFileSync(
  path.join(outDir, `${name}.svg`),
  await renderDeploymentChart(results[2 * story]!, results[2 * story + 1]!),
);
console.log(`written to bench/results/${name}.json and ${name}.svg`);
