import type { ScenarioResult } from './scenario.ts';

/** The figures the benchmark reports for one system at one setting. */
export interface RunSummary {
  system: string;
  shutdownS: number;
  startS: number;
  deployments: number;
  requests: number;
  failed: number;
  failures: Record<string, number>;
  reportedSuccess: number;
  successWithoutListener: number;
  nginxOnDeadPort: number;
  medianWallS: number;
  switchP50Ms: number;
  switchP99Ms: number;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Reduce one scenario's buckets and deployment records to the reported figures. */
export function summarizeRun(run: ScenarioResult): RunSummary {
  const failures: Record<string, number> = {};
  for (const bucket of run.buckets)
    for (const [kind, n] of Object.entries(bucket.failures)) failures[kind] = (failures[kind] ?? 0) + n;
  const during = run.buckets.filter((b) =>
    run.deployments.some((d) => b.t >= d.marks.validate && b.t <= d.marks.end + 1000),
  );
  const latencies = during.flatMap((b) => b.latencies);
  const walls = run.deployments.map((d) => d.wallMs / 1000);
  return {
    system: run.system,
    shutdownS: run.setting.shutdownMs / 1000,
    startS: run.setting.startMs / 1000,
    deployments: run.deployments.length,
    requests: run.buckets.reduce((n, b) => n + b.ok + b.failed, 0),
    failed: run.buckets.reduce((n, b) => n + b.failed, 0),
    failures,
    reportedSuccess: run.deployments.filter((d) => d.reportedSuccess).length,
    successWithoutListener: run.deployments.filter((d) => d.reportedSuccess && !d.nginxOnListener).length,
    nginxOnDeadPort: run.deployments.filter((d) => !d.nginxOnListener).length,
    medianWallS: percentile(walls, 0.5),
    switchP50Ms: percentile(latencies, 0.5),
    switchP99Ms: percentile(latencies, 0.99),
  };
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));

/** The table printed at the end of a run, and put in the README. */
export function formatSummaries(rows: RunSummary[]): string {
  const header = [
    'system',
    'shutdown',
    'start',
    'deploys',
    'requests',
    'failed',
    'failures by kind',
    'reported ok',
    'ok but nginx→dead port',
    'nginx→dead port',
    'median deploy',
    'p50/p99 ms at switch',
  ];
  const cells = rows.map((r) =>
    [
      r.system,
      `${r.shutdownS} s`,
      `${r.startS} s`,
      r.deployments,
      r.requests,
      r.failed,
      Object.entries(r.failures)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ') || '-',
      `${r.reportedSuccess}/${r.deployments}`,
      r.successWithoutListener,
      r.nginxOnDeadPort,
      `${r.medianWallS.toFixed(1)} s`,
      `${ms(r.switchP50Ms)}/${ms(r.switchP99Ms)}`,
    ].map(String),
  );
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
