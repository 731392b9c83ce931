import os from 'node:os';
import { spawnSync } from 'node:child_process';

/** Median, p90 and count of a list of milliseconds. */
export function summarize(samples: number[]): { median: number; p90: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9), n: sorted.length };
}

/** The machine a benchmark ran on, for its JSON result. */
export function describeMachine(): Record<string, unknown> {
  // lsof prints its version on stderr; a command not installed gives null rather than failing the benchmark.
  const version = (cmd: string, args: string[]) => {
    const run = spawnSync(cmd, args, { encoding: 'utf8' });
    if (run.error) return null;
    const line = `${run.stdout}${run.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /\d+\.\d+/.test(l));
    return line ?? null;
  };
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    ss: version('ss', ['-V']),
    lsof: version('lsof', ['-v']),
    nginx: version('/usr/sbin/nginx', ['-v']),
  };
}

/** A fixed-width text table. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** One hook's row in a hook-overhead table: medians of wall time and of the app's own work, and the overhead. */
export interface OverheadRow {
  hook: string;
  wall: number;
  appWork: number;
  overhead: { median: number; p90: number };
}

/**
 * The table both hook benches print: a first column of their own (the build, the supervisor), then wall time, the
 * app's own work, the overhead, and the overhead beyond `node -e 0` of the same runtime.
 */
export function formatOverheadTable(
  first: string,
  rows: Array<OverheadRow & { label: string }>,
  nodeMs: number,
): string {
  const header = [first, 'hook', 'wall ms', "app's own work ms", 'overhead ms (median)', 'overhead p90'];
  return formatTable(
    [...header, 'overhead beyond node -e 0'],
    rows.map((r) => [
      r.label,
      r.hook,
      r.wall.toFixed(0),
      r.appWork.toFixed(0),
      r.overhead.median.toFixed(0),
      r.overhead.p90.toFixed(0),
      (r.overhead.median - nodeMs).toFixed(0),
    ]),
  );
}
