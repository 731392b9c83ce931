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
