import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ScenarioResult } from './scenario.ts';

/** One system's lane: its buckets and marks around one deployment, on a clock starting at that deployment's stop. */
function lane(run: ScenarioResult, index: number) {
  const deployment = run.deployments[index]!;
  const zero = deployment.marks.stop;
  const from = -2000;
  const to = Math.max(deployment.marks.end - zero, 0) + 8000;
  const rows = run.buckets
    .filter((b) => b.t - zero >= from && b.t - zero <= to)
    .flatMap((b) => [
      { system: run.system, t: (b.t - zero) / 1000, outcome: 'succeeded', requests: b.ok },
      { system: run.system, t: (b.t - zero) / 1000, outcome: 'failed', requests: b.failed },
    ]);
  const marks = [
    { label: 'stop', t: 0 },
    { label: 'start', t: (deployment.marks.start - zero) / 1000 },
    { label: 'validate', t: (deployment.marks.validate - zero) / 1000 },
    { label: deployment.reportedSuccess ? 'reported success' : 'failed', t: (deployment.marks.end - zero) / 1000 },
    { label: 'old process exits', t: run.setting.shutdownMs / 1000 },
  ]
    .sort((a, b) => a.t - b.t)
    // Labels step down one line each, so marks a moment apart stay readable.
    .map((m, i) => ({ ...m, system: run.system, labelY: 10 + 13 * i }));
  return { rows, marks };
}

function laneSpec(title: string, data: ReturnType<typeof lane>, maxT: number) {
  const x = {
    field: 't',
    type: 'quantitative',
    title: 'seconds since ApplicationStop began',
    scale: { domain: [-2, maxT] },
  } as const;
  return {
    title,
    width: 760,
    height: 150,
    layer: [
      {
        data: { values: data.rows },
        mark: { type: 'bar', width: 1.5 },
        encoding: {
          x,
          y: { field: 'requests', type: 'quantitative', aggregate: 'sum', title: 'requests / 100 ms', stack: true },
          color: {
            field: 'outcome',
            type: 'nominal',
            scale: { domain: ['succeeded', 'failed'], range: ['#4c956c', '#d62828'] },
            title: null,
          },
        },
      },
      { data: { values: data.marks }, mark: { type: 'rule', strokeDash: [4, 3], color: '#333' }, encoding: { x } },
      {
        data: { values: data.marks },
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 11, color: '#333' },
        encoding: { x, y: { field: 'labelY', type: 'quantitative', scale: null }, text: { field: 'label' } },
      },
    ],
  };
}

/** An SVG of successful and failed requests per 100 ms across one deployment, portproof above the baseline. */
export async function renderDeploymentChart(
  portproof: ScenarioResult,
  baseline: ScenarioResult,
  deployment = 0,
): Promise<string> {
  const lanes = [lane(portproof, deployment), lane(baseline, deployment)];
  const maxT = Math.max(...lanes.flatMap((l) => l.rows.map((r) => r.t)), 10);
  const shutdown = portproof.setting.shutdownMs / 1000;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `One blue/green deployment under load, old app serving ${shutdown} s after SIGTERM`, fontSize: 14 },
    vconcat: [
      laneSpec('portproof (compiled hooks)', lanes[0]!, maxT),
      laneSpec('the widely copied shell recipe', lanes[1]!, maxT),
    ],
    resolve: { scale: { y: 'shared' } },
    config: { view: { stroke: '#ddd' }, font: 'sans-serif' },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
